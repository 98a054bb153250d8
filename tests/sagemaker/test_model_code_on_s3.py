"""A model step whose code is on S3 (an estimator's sourcedir.tar.gz: seed 000's case).

SageMaker's PyTorch inference container imports the code from the model archive's code/ only,
so the compiled definition repacks it there, as for local code: a RepackModel processing job
reads the sourcedir.tar.gz as an input, and the container script extracts it under code/."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from sagepipe.config import PyTorchModelConfig
from sagepipe.pipeline import Pipeline
from sagepipe.sagemaker import CompiledPipeline, compile_pipeline
from sagepipe.steps import PyTorchModelStepBuilder

from .conftest import step_named
from .resources.pipelines import RESOURCES, SHARED
from .test_container_scripts import model_archive, run, unpack_code_input

SOURCEDIR = "s3://sagepipe-test-bucket/train/source/sourcedir.tar.gz"
MODEL_DATA = "s3://sagepipe-test-bucket/train/output/model.tar.gz"


def compiled_model_with_s3_code() -> CompiledPipeline:
    config = PyTorchModelConfig(**SHARED, source_dir=SOURCEDIR, inference_entry_point="serve.py")
    step = PyTorchModelStepBuilder(config).create_step(
        name="model", inputs={"model_data": MODEL_DATA}
    )
    return compile_pipeline(Pipeline("s3code", [step], root=RESOURCES))


def repack(code: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The repack job's script on ``tmp_path``'s model/, sourcedir/ and output/."""
    return run(
        code / "package_model.py",
        "--model-dir",
        str(tmp_path / "model"),
        "--code-input",
        str(tmp_path / "sourcedir"),
        "--output-dir",
        str(tmp_path / "output"),
    )


def test_code_on_s3_is_repacked_into_the_model(tmp_path: Path) -> None:
    compiled = compiled_model_with_s3_code()

    repack_job = step_named(compiled, "model-RepackModel")["Arguments"]
    model = step_named(compiled, "model")["Arguments"]
    assert isinstance(repack_job, dict) and isinstance(model, dict)
    inputs = {i["InputName"]: i["S3Input"] for i in repack_job["ProcessingInputs"]}
    assert inputs["inference_code"]["S3Uri"] == SOURCEDIR
    assert inputs["inference_code"]["LocalPath"] == "/opt/ml/processing/input/inference_code"
    assert inputs["model_input"]["S3Uri"] == MODEL_DATA
    container = model["PrimaryContainer"]
    assert container["ModelDataUrl"] == {
        "Std:Join": {
            "On": "/",
            "Values": [
                {
                    "Get": "Steps.model-RepackModel.ProcessingOutputConfig.Outputs"
                    "['packaged_model'].S3Output.S3Uri"
                },
                "model.tar.gz",
            ],
        }
    }
    environment = container["Environment"]
    assert environment["SAGEMAKER_PROGRAM"] == "serve.py"
    assert environment["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    assert environment["SAGEMAKER_REGION"] == "us-east-1"
    assert environment["SAGEMAKER_CONTAINER_LOG_LEVEL"] == "20"
    assert step_named(compiled, "model")["DependsOn"] == ["model-RepackModel"]

    # The repack job's own script puts the sourcedir.tar.gz's files under code/.
    code = unpack_code_input(compiled, "model-RepackModel", tmp_path / "code")
    assert not (code / "inference_code").exists()
    model_archive(tmp_path / "model" / "model.tar.gz", {"model.pth": b"w", "code/old.py": b"x"})
    model_archive(
        tmp_path / "sourcedir" / "sourcedir.tar.gz",
        {"serve.py": b"def model_fn(d):\n    return d\n", "lib/helpers.py": b"X = 1\n"},
    )
    done = repack(code, tmp_path)
    assert done.returncode == 0, done.stderr
    with tarfile.open(tmp_path / "output" / "model.tar.gz") as archive:
        names = set(archive.getnames())
        served = archive.extractfile("code/serve.py")
        assert served is not None and served.read() == b"def model_fn(d):\n    return d\n"
    assert {"model.pth", "code/serve.py", "code/lib/helpers.py"} <= names
    assert "code/old.py" not in names


def test_an_unsafe_sourcedir_member_is_refused(tmp_path: Path) -> None:
    code = unpack_code_input(compiled_model_with_s3_code(), "model-RepackModel", tmp_path / "c")
    model_archive(tmp_path / "model" / "model.tar.gz", {"model.pth": b"w"})
    sourcedir = tmp_path / "sourcedir" / "sourcedir.tar.gz"
    sourcedir.parent.mkdir(parents=True)
    with tarfile.open(sourcedir, "w:gz") as archive:
        info = tarfile.TarInfo("../serve.py")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))

    done = repack(code, tmp_path)

    assert done.returncode == 1
    assert "unsafe path" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "escape").exists() and not (tmp_path / "serve.py").exists()
    assert not (tmp_path / "output" / "model.tar.gz").exists()
