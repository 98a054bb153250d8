"""The default codecs produce exactly what SageMaker's toolkit produces."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch

from sagepipe.serving import codecs, defaults
from sagepipe.serving.errors import InferenceError


def toolkit_encode(prediction: torch.Tensor, kind: str) -> bytes:
    """What sagemaker_pytorch_serving_container's default_output_fn returns."""
    value = prediction.detach().cpu().numpy().tolist()
    if kind == "application/json":
        return json.dumps(value).encode()
    if kind == "text/csv":
        stream = io.StringIO()
        np.savetxt(stream, value, delimiter=",", fmt="%s")
        return stream.getvalue().encode()
    buffer = io.BytesIO()
    np.save(buffer, value)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["application/json", "text/csv", "application/x-npy"])
@pytest.mark.parametrize(
    "tensor",
    [
        torch.randn(3, 5, generator=torch.Generator().manual_seed(1)),
        torch.randn(7, generator=torch.Generator().manual_seed(2)) * 1e-7,
        torch.tensor([[1e20, -0.0, float("inf")]]),
        torch.arange(6).reshape(2, 3),
        torch.tensor([True, False]),
        torch.randn(2, 3, dtype=torch.float64),
    ],
)
def test_tensor_encoding_is_byte_identical_to_the_toolkit(tensor: torch.Tensor, kind: str) -> None:
    body, content_type = defaults.default_output_fn(tensor, kind)
    assert content_type == kind
    expected = toolkit_encode(tensor, kind)
    if kind == "application/json":
        # The one deliberate difference: the toolkit writes Infinity, which is not JSON.
        expected = expected.replace(b"Infinity", b"null")
    assert body == expected


def test_non_finite_predictions_are_null_in_json_and_kept_in_csv() -> None:
    tensor = torch.tensor([[float("nan"), 1.5, float("-inf")]])

    body, _ = defaults.default_output_fn(tensor, "application/json")
    assert json.loads(body, parse_constant=pytest.fail) == [[None, 1.5, None]]
    assert defaults.default_output_fn(tensor, "text/csv")[0] == b"nan,1.5,-inf\n"
    assert codecs.encode_json(np.array([np.inf, 2.0])) == b"[null, 2.0]"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("[[NaN, 1.0]]", "holds NaN"),
        ("[[1.0, Infinity]]", "holds Infinity"),
        ("[-Infinity]", "holds -Infinity"),
        ("[[1.0, 1e400]]", "index [0, 1] that is too large for float32"),
        ("[[1e39]]", "index [0, 0] that is too large for float32"),
        ("[" * 33 + "1" + "]" * 33, "nested more than 32 levels deep"),
        ("[" * 100_000 + "]" * 100_000, "nested more than 32 levels deep"),
    ],
)
def test_non_json_numbers_and_deep_nesting_are_400_naming_them(body: str, named: str) -> None:
    with pytest.raises(InferenceError) as raised:
        defaults.default_input_fn(body, "application/json")
    assert raised.value.status == 400
    assert named in raised.value.message


def test_arrays_and_lists_use_the_toolkit_encoders() -> None:
    array = np.array([[1.5, 2.25]], dtype=np.float32)
    assert defaults.default_output_fn(array, "application/json")[0] == b"[[1.5, 2.25]]"
    assert from_npy(defaults.default_output_fn(array, "application/x-npy")[0]).dtype == np.float32
    assert defaults.default_output_fn([1, 2], "text/csv")[0] == b"1\n2\n"


def from_npy(body: bytes) -> np.ndarray:
    return np.load(io.BytesIO(body), allow_pickle=False)


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4)),
        np.array(3.5),
        np.zeros((2, 0, 3), dtype=np.int16),
    ],
)
def test_npy_round_trip(array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array)
    decoded = codecs.npy_to_numpy(buffer.getvalue())
    assert decoded.dtype == array.dtype and np.array_equal(decoded, array)
    assert decoded.flags.writeable
    assert codecs.numpy_to_npy(array) == buffer.getvalue()
    assert codecs.numpy_to_npy(array) == buffer.getvalue()  # the cached header too


def test_npy_object_arrays_are_refused() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([None, 1], dtype=object), allow_pickle=True)
    with pytest.raises(InferenceError) as raised:
        codecs.npy_to_numpy(buffer.getvalue())
    assert raised.value.status == 400


@pytest.mark.parametrize(
    "text", ["1,2,3", "1,2\n3,4\n", "1\n2\n3", "5", "1,,3\n4,5,6", "# note\n1,2\n\n3,4 # end"]
)
def test_csv_matches_genfromtxt(text: str) -> None:
    expected = np.genfromtxt(io.StringIO(text), delimiter=",")
    got = codecs.csv_to_numpy(text)
    assert got.shape == expected.shape
    assert np.array_equal(got, expected, equal_nan=True)
    tensor = defaults.default_input_fn(text, "text/csv")
    assert tensor.dtype == torch.float32
    assert np.array_equal(tensor.numpy(), expected.astype(np.float32), equal_nan=True)


def test_json_decodes_to_float32_like_the_toolkit() -> None:
    tensor = defaults.default_input_fn("[[1, 2.5], [true, 0.1]]", "application/json")
    expected = torch.FloatTensor(np.array([[1, 2.5], [True, 0.1]]))
    assert tensor.dtype == torch.float32 and torch.equal(tensor, expected)


def test_media_type_parameters_are_ignored() -> None:
    tensor = defaults.default_input_fn("[1]", "application/json; charset=utf-8")
    assert tensor.tolist() == [1.0]
    assert codecs.parse_accept("text/csv;q=0.9, application/json") == [
        "text/csv",
        "application/json",
    ]
