"""Batch transform writes ``<name>.out`` with SageMaker's record semantics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagepipe.serving import transform_records as tr
from sagepipe.serving.errors import TransformError
from sagepipe.serving.transform import run_transform

from .support import write_code, write_linear

CSV = b"1,2\n3,4\n\n5,6\n"
JSON_LINES = b'{"id": "a", "x": [[1, 2]]}\n[[3, 4]]\n'

JSON_FEATURES = """
    import json

    def input_fn(request_body, content_type):
        import torch
        rows = [json.loads(line) for line in request_body.splitlines() if line.strip()]
        features = [r["x"][0] if isinstance(r, dict) else r[0] for r in rows]
        return torch.tensor(features, dtype=torch.float32)

    def output_fn(prediction, accept):
        return "\\n".join(json.dumps(row) for row in prediction.tolist()), accept
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_linear(tmp_path_factory.mktemp("transform") / "model")


# ---------------------------------------------------------------- record semantics (no I/O)


def test_line_split_skips_blank_lines_and_keeps_line_numbers() -> None:
    records = tr.split_records(b"a\r\n\nb\n", "Line")
    assert [(r.number, r.data) for r in records] == [(1, b"a"), (3, b"b")]
    assert [r.data for r in tr.split_records(b"a\nb", "None")] == [b"a\nb"]


def test_multi_record_batches_fill_up_to_the_payload() -> None:
    records = [tr.Record(i, b"x" * 4) for i in range(1, 6)]
    batches = list(tr.mini_batches(records, "MultiRecord", 10, "f"))
    assert [b.body for b in batches] == [b"xxxx\nxxxx", b"xxxx\nxxxx", b"xxxx"]
    assert batches[0].describe() == "records 1-2" and batches[2].describe() == "record 5"
    with pytest.raises(TransformError, match="f: record 1 is 4 bytes"):
        list(tr.mini_batches(records, "SingleRecord", 3, "f"))


def test_json_join_adds_sagemaker_output_or_wraps_the_input() -> None:
    joined = tr.join_record(b'{"id": 1}', b"[0.5]", "application/json", "application/json")
    assert json.loads(joined) == {"id": 1, "SageMakerOutput": [0.5]}
    wrapped = tr.join_record(b"[1, 2]", b"7", "application/json", "application/json")
    assert json.loads(wrapped) == {"SageMakerInput": [1, 2], "SageMakerOutput": 7}
    assert tr.join_record(b"1,2", b"3.5", "text/csv", "text/csv") == b"1,2,3.5"


# ---------------------------------------------------------------- whole jobs


@pytest.mark.slow
def test_line_single_record_assembled_by_line(tmp_path: Path, model: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "data.csv").write_bytes(CSV)
    (tmp_path / "in" / "nested").mkdir()
    (tmp_path / "in" / "nested" / "more.csv").write_bytes(b"0,0\n")
    result = run_transform(
        str(model),
        str(tmp_path / "in"),
        str(tmp_path / "out"),
        content_type="text/csv",
        accept="text/csv",
        split_type="Line",
        batch_strategy="SingleRecord",
        assemble_with="Line",
        max_concurrent=2,
    )
    assert (result.records, result.requests) == (4, 4)
    assert (tmp_path / "out" / "data.csv.out").read_bytes() == b"5.5\n11.5\n17.5\n"
    assert (tmp_path / "out" / "nested" / "more.csv.out").read_bytes() == b"0.5\n"


@pytest.mark.slow
def test_multi_record_joined_with_the_input(tmp_path: Path, model: Path) -> None:
    (tmp_path / "data.csv").write_bytes(CSV)
    result = run_transform(
        str(model),
        str(tmp_path / "data.csv"),
        str(tmp_path / "out"),
        content_type="text/csv",
        accept="text/csv",
        split_type="Line",
        batch_strategy="MultiRecord",
        assemble_with="Line",
        join_source="Input",
    )
    assert result.requests == 1
    assert (tmp_path / "out" / "data.csv.out").read_bytes() == b"1,2,5.5\n3,4,11.5\n5,6,17.5\n"


@pytest.mark.slow
def test_whole_objects_concatenated(tmp_path: Path, model: Path) -> None:
    (tmp_path / "data.csv").write_bytes(CSV)
    run_transform(
        str(model),
        str(tmp_path / "data.csv"),
        str(tmp_path / "out"),
        content_type="text/csv",
        accept="application/json",
    )
    assert (tmp_path / "out" / "data.csv.out").read_bytes() == b"[[5.5], [11.5], [17.5]]"


@pytest.mark.slow
def test_json_lines_joined_with_json_input(tmp_path: Path) -> None:
    model = write_linear(tmp_path / "model")
    write_code(model, JSON_FEATURES)
    (tmp_path / "data.jsonl").write_bytes(JSON_LINES)
    run_transform(
        str(model),
        str(tmp_path / "data.jsonl"),
        str(tmp_path / "out"),
        content_type="application/json",
        accept="application/json",
        split_type="Line",
        batch_strategy="MultiRecord",
        assemble_with="Line",
        join_source="Input",
    )
    lines = (tmp_path / "out" / "data.jsonl.out").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": "a", "x": [[1, 2]], "SageMakerOutput": [5.5]},
        {"SageMakerInput": [[3, 4]], "SageMakerOutput": [11.5]},
    ]


@pytest.mark.slow
def test_a_failing_record_fails_the_job_naming_file_and_record(tmp_path: Path, model: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.csv").write_bytes(b"1,2\n3,4\n1,2,3\n")
    with pytest.raises(TransformError) as raised:
        run_transform(
            str(model),
            str(tmp_path / "in"),
            str(tmp_path / "out"),
            content_type="text/csv",
            accept="text/csv",
            split_type="Line",
            batch_strategy="SingleRecord",
            assemble_with="Line",
        )
    message = str(raised.value)
    assert "bad.csv, record 3" in message and "HTTP 400" in message and "shape (3,)" in message
    assert not (tmp_path / "out" / "bad.csv.out").exists()


def test_join_needs_line_assembly(tmp_path: Path, model: Path) -> None:
    with pytest.raises(TransformError, match="--assemble-with Line"):
        run_transform(str(model), str(tmp_path), str(tmp_path / "out"), join_source="Input")


@pytest.mark.slow
def test_s3_input_and_output_through_the_storage_layer(
    tmp_path: Path, model: Path, sagepipe_home_dir: Path
) -> None:
    from sagepipe.storage import get_storage

    storage = get_storage()
    source = tmp_path / "data.csv"
    source.write_bytes(CSV)
    storage.put_file(source, "s3://bucket/input/part/data.csv")
    result = run_transform(
        str(model),
        "s3://bucket/input",
        "s3://bucket/output",
        content_type="text/csv",
        accept="text/csv",
        split_type="Line",
        batch_strategy="MultiRecord",
        assemble_with="Line",
    )
    assert result.outputs == ["s3://bucket/output/part/data.csv.out"]
    storage.get_file("s3://bucket/output/part/data.csv.out", tmp_path / "got")
    assert (tmp_path / "got").read_bytes() == b"5.5\n11.5\n17.5\n"


@pytest.mark.slow
def test_s3_keys_with_dotdot_cannot_write_outside_the_output(
    tmp_path: Path, model: Path, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    monkeypatch.setenv("SAGEPIPE_STORAGE", "s3")
    monkeypatch.setenv("SAGEPIPE_HOME", str(tmp_path / "home"))
    boto3.client("s3").put_object(Bucket=s3_bucket, Key="input/../../escape.csv", Body=CSV)
    with pytest.raises(TransformError, match=r"'\.\.'"):
        run_transform(str(model), f"s3://{s3_bucket}/input", str(tmp_path / "out" / "deep"))
    assert not list(tmp_path.rglob("*.out"))


@pytest.mark.slow
def test_a_model_that_cannot_load_is_one_line_unless_user_code_failed(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text("[1]\n")
    empty = tmp_path / "empty"  # no model file, no code: sagepipe's own error says it all
    empty.mkdir()
    broken = tmp_path / "broken"  # the user's model_fn raises: its traceback is kept
    write_code(broken, "def model_fn(model_dir):\n    raise ValueError('bad weights')\n")

    def transform(model: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable, "-m", "sagepipe", "transform", str(model),
                "--input", str(tmp_path / "in"), "--output", str(tmp_path / f"out-{model.name}"),
                "--content-type", "application/json", "--max-concurrent", "1",
            ],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    result = transform(empty)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("sagepipe: error: the model could not be loaded"), line
    assert "no model_fn in the inference script and no model.pt" in line, line

    result = transform(broken)
    assert result.returncode == 2, result.stderr
    assert "Traceback" in result.stderr and "code/inference.py" in result.stderr, result.stderr
    assert "ValueError: bad weights" in result.stderr.splitlines()[-1], result.stderr
