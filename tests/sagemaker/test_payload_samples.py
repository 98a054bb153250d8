"""The payload step with user-supplied samples, compiled for SageMaker: local files in the code
bundle, s3:// samples as processing inputs, a definition botocore's model accepts, and the
container script checking and packing the files as the job would."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

from sagepipe.artifacts.errors import PayloadError
from sagepipe.artifacts.payload import PayloadManifest
from sagepipe.artifacts.sample_files import MAX_SAMPLE_BYTES, check_sample
from sagepipe.config import PackagingConfig, PayloadConfig, RegistrationConfig, SampleFile
from sagepipe.pipeline import Pipeline
from sagepipe.sagemaker import CompiledPipeline, CompileError, compile_pipeline
from sagepipe.sagemaker.validation import validate_definition
from sagepipe.steps import PackagingStepBuilder, PayloadStepBuilder, RegistrationStepBuilder

from .conftest import step_named
from .resources.pipelines import CODE, SHARED
from .test_container_scripts import run, unpack_code_input

REMOTE = "s3://team-bucket/requests/"


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    root = tmp_path / "samples"
    root.mkdir()
    (root / "row.json").write_text("[0.5, 1.5, -2.0]")
    (root / "rows.csv").write_text("1,2,3\n")
    np.save(root / "batch.npy", np.zeros((2, 3), dtype=np.float32))
    return root


def pipeline(payload: PayloadConfig, root: Path) -> Pipeline:
    packaging = PackagingStepBuilder(PackagingConfig(**SHARED, source_dir=str(CODE))).create_step(
        name="packaging", inputs={"model_input": "s3://sagepipe-test-bucket/model/model.tar.gz"}
    )
    sample = PayloadStepBuilder(payload).create_step([packaging], name="payload")
    return Pipeline("example", [packaging, sample], root=root)


def compiled(samples_dir: Path) -> CompiledPipeline:
    payload = PayloadConfig(**SHARED, samples=[str(samples_dir), REMOTE])
    return compile_pipeline(pipeline(payload, samples_dir.parent))


def test_local_samples_travel_in_the_bundle_and_s3_ones_are_inputs(samples: Path) -> None:
    result = compiled(samples)

    assert validate_definition(result.definition, result.apis) == []
    arguments = step_named(result, "payload")["Arguments"]
    assert isinstance(arguments, dict)
    inputs = {i["InputName"]: i["S3Input"] for i in arguments["ProcessingInputs"]}
    assert sorted(inputs) == ["code", "model_input", "samples-1"]
    assert inputs["samples-1"]["S3Uri"] == REMOTE
    assert inputs["samples-1"]["LocalPath"] == "/opt/ml/processing/input/samples/1"
    code = next(u for u in result.uploads if u.uri == inputs["code"]["S3Uri"])
    names = [f.arcname for f in code.bundle.files]
    assert names == [
        "make_payload.py",
        "sagepipe_payload.json",
        "samples/batch.npy",
        "samples/row.json",
        "samples/rows.csv",
    ]
    settings = json.loads(code.bundle.content(code.bundle.files[1]))
    assert settings == {
        "max_sample_bytes": MAX_SAMPLE_BYTES,
        "samples": [
            {"file": "samples/batch.npy", "content_type": "application/x-npy"},
            {"file": "samples/row.json", "content_type": "application/json"},
            {"file": "samples/rows.csv", "content_type": "text/csv"},
            {
                "uri": REMOTE,
                "input": "/opt/ml/processing/input/samples/1",
                "content_type": None,
            },
        ],
    }


def test_the_definition_does_not_depend_on_where_the_samples_sit(
    samples: Path, tmp_path: Path
) -> None:
    moved = tmp_path / "elsewhere" / "samples"
    shutil.copytree(samples, moved)

    assert compiled(samples).to_json() == compiled(moved).to_json()


def test_a_sample_changed_after_the_config_was_built_fails_the_compile(samples: Path) -> None:
    payload = PayloadConfig(**SHARED, samples=[str(samples / "row.json")])
    (samples / "row.json").write_text("[0.5,")

    with pytest.raises(CompileError, match=r"step 'payload': samples\[0\]: sample .*row\.json "):
        compile_pipeline(pipeline(payload, samples.parent))


def test_the_job_packs_bundled_and_downloaded_samples_with_a_manifest(
    samples: Path, tmp_path: Path
) -> None:
    result = compiled(samples)
    code = unpack_code_input(result, "payload", tmp_path / "code")
    settings_file = code / "sagepipe_payload.json"
    settings = json.loads(settings_file.read_text())
    downloaded = tmp_path / "input" / "samples" / "1"
    (downloaded / "nested").mkdir(parents=True)
    (downloaded / "nested" / "remote.json").write_text('{"rows": [[1, 2, 3]]}')
    settings["samples"][3]["input"] = str(downloaded)  # where SageMaker would download it
    settings_file.write_text(json.dumps(settings))

    done = run(code / "make_payload.py", "--output-dir", str(tmp_path / "out"))

    assert done.returncode == 0, done.stderr
    manifest = PayloadManifest.model_validate_json((tmp_path / "out" / "manifest.json").read_text())
    assert [(s.file, s.content_type, s.source) for s in manifest.samples] == [
        ("samples/batch.npy", "application/x-npy", "batch.npy"),
        ("samples/row.json", "application/json", "row.json"),
        ("samples/rows.csv", "text/csv", "rows.csv"),
        ("samples/remote.json", "application/json", f"{REMOTE}nested/remote.json"),
    ]
    with tarfile.open(tmp_path / "out" / "payload.tar.gz") as archive:
        members = {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}  # type: ignore[union-attr]
    assert sorted(members) == [
        "manifest.json",
        "samples/batch.npy",
        "samples/remote.json",
        "samples/row.json",
        "samples/rows.csv",
    ]
    assert members["samples/batch.npy"] == (samples / "batch.npy").read_bytes()


def _npy(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


BAD_SAMPLES = {
    "truncated.npy": ("application/x-npy", _npy(np.ones((4, 3)))[:-8]),
    "objects.npy": ("application/x-npy", _npy(np.array([None, 1], dtype=object))),
    "garbage.npy": ("application/x-npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': os.system"),
    "not-npy.npy": ("application/x-npy", b"PK\x03\x04 a zip"),
    "bad.json": ("application/json", b'{"a": 1,}'),
    "blank.csv": ("text/csv", b"   \n"),
    "empty.json": ("application/json", b""),
}
GOOD_SAMPLES = {
    "strings.npy": ("application/x-npy", _npy(np.array(["ab", "c"]))),
    "bools.npy": ("application/x-npy", _npy(np.array([[True], [False]]))),
    "fortran.npy": ("application/x-npy", _npy(np.asfortranarray(np.ones((2, 3), np.int16)))),
    "scalar.npy": ("application/x-npy", _npy(np.float64(1.5))),
    "list.json": ("application/json", b"[1, 2]"),
}


@pytest.mark.parametrize("name", sorted(BAD_SAMPLES) + sorted(GOOD_SAMPLES))
def test_the_job_and_the_config_agree_on_each_file(
    samples: Path, tmp_path: Path, name: str
) -> None:
    # The job checks s3:// samples with the standard library only; sagepipe checks local
    # ones with numpy's header reader. Both must accept and refuse the same files.
    content_type, body = {**BAD_SAMPLES, **GOOD_SAMPLES}[name]
    result = compiled(samples)
    code = unpack_code_input(result, "payload", tmp_path / "code")
    settings_file = code / "sagepipe_payload.json"
    downloaded = tmp_path / "downloaded"
    downloaded.mkdir()
    (downloaded / name).write_bytes(body)
    settings = {
        "max_sample_bytes": MAX_SAMPLE_BYTES,
        "samples": [{"uri": f"{REMOTE}{name}", "input": str(downloaded), "content_type": None}],
    }
    settings_file.write_text(json.dumps(settings))

    done = run(code / "make_payload.py", "--output-dir", str(tmp_path / "out"))
    try:
        check_sample(name, body, content_type)
        local_error = None
    except PayloadError as exc:
        local_error = str(exc)

    if name in GOOD_SAMPLES:
        assert local_error is None
        assert done.returncode == 0, done.stderr
        return
    assert local_error is not None
    assert done.returncode == 1
    assert done.stderr.startswith(f"payload: sample {REMOTE}{name}")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "payload.tar.gz").exists()


def _registration_warnings(
    payload: PayloadConfig, content_types: list[str], root: Path
) -> list[str]:
    steps = list(pipeline(payload, root).steps)
    registration = RegistrationStepBuilder(
        RegistrationConfig(
            **SHARED, model_package_group_name="example", content_types=content_types
        )
    ).create_step(steps, name="registration")
    result = compile_pipeline(Pipeline("example", [*steps, registration], root=root))
    return [w for w in result.warnings if "content_types" in w]


def test_sample_types_the_registration_does_not_list_are_named(samples: Path) -> None:
    payload = PayloadConfig(
        **SHARED,
        samples=[
            str(samples),
            SampleFile(path="s3://team-bucket/requests/extra.bin", content_type="text/csv"),
            "s3://team-bucket/requests/more.npy",
            REMOTE,  # a prefix: its types are known only when the job lists it
        ],
    )
    (warning,) = _registration_warnings(payload, ["application/json"], samples.parent)
    assert "'payload' are sent as application/x-npy, text/csv" in warning, warning
    assert "content_types (application/json) does not list" in warning, warning
    assert warning.startswith("step 'registration': "), warning
    every = ["application/json", "application/x-npy", "text/csv"]
    assert _registration_warnings(payload, every, samples.parent) == []


def test_generated_payload_types_are_checked_too(samples: Path) -> None:
    payload = PayloadConfig(**SHARED, content_types=["text/csv", "application/json"])
    (warning,) = _registration_warnings(payload, ["text/csv"], samples.parent)
    assert "are sent as application/json, which content_types (text/csv)" in warning, warning


def test_a_sample_path_from_a_pipeline_parameter_is_refused_clearly(samples: Path) -> None:
    from sagepipe.expressions import ParameterString

    requests = ParameterString("Requests", "s3://team-bucket/requests/row.json")
    payload = PayloadConfig(**SHARED, samples=[SampleFile(path=requests)])  # type: ignore[arg-type]
    with pytest.raises(CompileError, match=r"samples\[0\]\.path is a pipeline parameter"):
        compile_pipeline(pipeline(payload, samples.parent))
