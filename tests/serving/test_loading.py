"""Handler discovery and arity detection, and the default model_fn's errors."""

from __future__ import annotations

import textwrap
import types
from pathlib import Path

import pytest
import torch

from sagepipe.serving import defaults
from sagepipe.serving.chain import HandlerChain
from sagepipe.serving.errors import HandlerSignatureError, ModelLoadError
from sagepipe.serving.loading import bind_handler, load_user_module

from .support import save_script, write_linear


def module(source: str) -> types.ModuleType:
    mod = types.ModuleType("handlers")
    exec(textwrap.dedent(source), mod.__dict__)
    return mod


def test_arity_decides_whether_context_is_passed() -> None:
    mod = module(
        """
        def input_fn(body, content_type): ...
        def predict_fn(data, model, context): ...
        def output_fn(prediction, accept, context=None): ...
        def model_fn(*args): ...
        """
    )
    assert bind_handler(mod, "input_fn").takes_context is False  # type: ignore[union-attr]
    assert bind_handler(mod, "predict_fn").takes_context is True  # type: ignore[union-attr]
    assert bind_handler(mod, "output_fn").takes_context is True  # type: ignore[union-attr]
    assert bind_handler(mod, "model_fn").takes_context is True  # type: ignore[union-attr]
    assert bind_handler(mod, "transform_fn") is None


def test_a_wrong_arity_names_the_handler_and_both_signatures() -> None:
    mod = module("def predict_fn(data): ...")
    with pytest.raises(HandlerSignatureError, match=r"predict_fn\(input_data, model, context\)"):
        bind_handler(mod, "predict_fn")


def test_transform_fn_excludes_the_others() -> None:
    mod = module(
        """
        def transform_fn(model, body, content_type, accept): ...
        def input_fn(body, content_type): ...
        """
    )
    with pytest.raises(HandlerSignatureError, match="transform_fn cannot be combined"):
        HandlerChain(mod, {}, "application/json")


def test_transform_fn_answers_requests(tmp_path: Path) -> None:
    from sagepipe.serving.messages import Invocation

    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(
        "def model_fn(model_dir):\n    return 3\n"
        "def transform_fn(model, body, content_type, accept):\n"
        "    return str(model * len(body)), 'text/plain'\n"
    )
    chain = HandlerChain.load(tmp_path, code, "inference.py", {})
    response = chain.invoke(Invocation(b"abcd", "application/octet-stream", ""))
    assert (response.status, response.body, response.content_type) == (200, b"12", "text/plain")


def test_missing_script_means_defaults(tmp_path: Path) -> None:
    assert load_user_module(tmp_path, "inference.py") is None
    assert load_user_module(None, "inference.py") is None


def test_no_handler_and_no_model_pt_says_what_to_provide(tmp_path: Path) -> None:
    (tmp_path / "._model.pt").write_bytes(b"AppleDouble junk")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ModelLoadError) as raised:
        defaults.default_model_fn(str(tmp_path))
    message = str(raised.value)
    assert "no model_fn" in message and "model.pt" in message and "torch.jit.save" in message
    assert "._model.pt" not in message.split("(found")[1].split(")")[0]


def test_junk_files_are_ignored_next_to_the_model(tmp_path: Path) -> None:
    write_linear(tmp_path)
    (tmp_path / "._model.pt").write_bytes(b"junk")
    model = defaults.default_model_fn(str(tmp_path))
    assert model(torch.tensor([[1.0, 1.0]])).tolist() == [[3.5]]


def test_the_only_pth_file_is_loaded_when_there_is_no_model_pt(tmp_path: Path) -> None:
    save_script(torch.nn.Identity(), tmp_path / "weights.pth")
    (tmp_path / "._weights.pth").write_bytes(b"junk")
    model = defaults.default_model_fn(str(tmp_path))
    assert model(torch.ones(1)).tolist() == [1.0]


def test_a_state_dict_is_not_torchscript(tmp_path: Path) -> None:
    torch.save(torch.nn.Linear(2, 1).state_dict(), tmp_path / "model.pt")
    with pytest.raises(ModelLoadError, match="not a TorchScript archive"):
        defaults.default_model_fn(str(tmp_path))
