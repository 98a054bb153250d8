"""Dynamic batching: concurrent requests are stacked, predicted once and split back, with
answers identical to unbatched ones; a user predict_fn is batched only when it says so."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from .support import Server, from_npy, json_body, npy, running_server, write_code, write_mlp

pytestmark = pytest.mark.slow

RECORDING = """
    import os

    import torch

    {batchable}

    def predict_fn(data, model):
        with open(os.environ["BATCH_FILE"], "a") as handle:
            handle.write(f"{{data.shape[0]}}\\n")
        with torch.no_grad():
            return model(data)

    {flag}
"""

INPUTS = [np.arange(4 * (i % 3 + 1), dtype=np.float32).reshape(-1, 4) - 2 * i for i in range(24)]


def concurrent_answers(server: Server, content_type: str) -> list[np.ndarray]:
    answers: list[np.ndarray | None] = [None] * len(INPUTS)
    barrier = threading.Barrier(len(INPUTS))

    def run(i: int) -> None:
        if content_type == "application/x-npy":
            body = npy(INPUTS[i])
        else:
            body = json_body(INPUTS[i].tolist())
        barrier.wait()
        status, _, answer = server.invoke(body, content_type, "application/x-npy")
        assert status == 200, answer
        answers[i] = from_npy(answer)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(INPUTS))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(a is not None for a in answers)
    return answers  # type: ignore[return-value]


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mlp(tmp_path_factory.mktemp("mlp") / "model")


@pytest.fixture(scope="module")
def unbatched(mlp: Path) -> Iterator[list[np.ndarray]]:
    with running_server(mlp) as server:
        yield [
            from_npy(server.invoke(npy(x), "application/x-npy", "application/x-npy")[2])
            for x in INPUTS
        ]


@pytest.mark.parametrize("content_type", ["application/x-npy", "application/json"])
def test_default_handlers_batched_equal_unbatched(
    mlp: Path, unbatched: list[np.ndarray], content_type: str
) -> None:
    with running_server(mlp, "--max-batch-size", "8", "--max-batch-delay-ms", "100") as server:
        answers = concurrent_answers(server, content_type)
    for got, expected in zip(answers, unbatched, strict=True):
        assert got.dtype == expected.dtype
        assert np.array_equal(got, expected)


@pytest.mark.parametrize("opted_in", [True, False])
def test_user_predict_fn_is_batched_only_when_it_opts_in(
    tmp_path: Path, mlp: Path, unbatched: list[np.ndarray], opted_in: bool
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.pt").write_bytes((mlp / "model.pt").read_bytes())
    flag = "predict_fn.batchable = True" if opted_in else ""
    write_code(model, RECORDING.format(batchable="", flag=flag))
    batch_file = tmp_path / "batches"
    env = {"BATCH_FILE": str(batch_file)}
    args = ("--max-batch-size", "8", "--max-batch-delay-ms", "100")
    with running_server(model, *args, env=env) as server:
        answers = concurrent_answers(server, "application/x-npy")
    for got, expected in zip(answers, unbatched, strict=True):
        assert np.array_equal(got, expected)
    sizes = [int(n) for n in batch_file.read_text().split()]
    single_sizes = sorted({x.shape[0] for x in INPUTS})
    if opted_in:
        assert max(sizes) > max(single_sizes)
        assert sum(sizes) <= sum(x.shape[0] for x in INPUTS) * 2
    else:
        assert set(sizes) <= set(single_sizes)
        assert len(sizes) == len(INPUTS)


def test_batched_requests_of_different_shapes_are_not_mixed(mlp: Path) -> None:
    with running_server(mlp, "--max-batch-size", "8", "--max-batch-delay-ms", "100") as server:
        results: list[tuple[int, bytes]] = []
        bodies = [json_body([[1, 2, 3, 4]]), json_body([[1, 2]]), json_body([1, 2, 3, 4])]

        def run(body: bytes) -> None:
            status, _, answer = server.invoke(body, "application/json")
            results.append((status, answer))

        threads = [threading.Thread(target=run, args=(b,)) for b in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 200, 400]
    assert all(json.loads(a) for s, a in results if s == 200)
