"""The SageMaker SDK's FrameworkProcessor entrypoint (runproc.sh), run without bash."""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
from pathlib import Path

import pydantic
import pytest

from sagepipe.local.calls import local_call
from sagepipe.local.errors import StepFailure
from sagepipe.storage import RoutedStorage

from .conftest import CallRunner, ContextFactory
from .processing_requests import (
    CODE,
    put_text,
    read,
    request,
    s3_input,
    s3_output,
)

RUNPROC = """#!/bin/bash

cd /opt/ml/processing/input/code/
tar -xzf sourcedir.tar.gz

# Exit on any error. SageMaker uses error code to mark failed job.
set -e

if [[ -f 'requirements.txt' ]]; then
    # Some py3 containers has typing, which may breaks pip install
    pip uninstall --yes typing

    pip install -r requirements.txt
fi

python preprocess.py "$@"
"""


USES_WHEEL = """
    import json, os, pathlib, sys
    import pydantic
    from helpers import scale  # a module of the source dir
    out = pathlib.Path(os.environ["SAGEPIPE_OPT_ML"]) / "processing/output/result"
    (out / "result.json").write_text(json.dumps({
        "args": sys.argv[1:], "pydantic": pydantic.VERSION, "scaled": scale(2),
        "prefix": sys.prefix, "cwd": os.getcwd(),
    }))
"""


def sourcedir(tmp_path: Path, files: dict[str, str]) -> Path:
    archive = tmp_path / "sourcedir.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in files.items():
            data = textwrap.dedent(text).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive


@pytest.mark.slow
def test_a_framework_processor_runproc_runs_its_bundle_with_its_requirements(
    tmp_path: Path,
    home: Path,
    storage: RoutedStorage,
    call_context: ContextFactory,
    run_call: CallRunner,
) -> None:
    bundle = sourcedir(
        tmp_path,
        {
            "preprocess.py": USES_WHEEL,
            "helpers.py": "def scale(x):\n    return x * 10\n",
            # Already installed here (seen through the venv), so pip needs no network.
            "requirements.txt": "--no-index\npydantic\n",
        },
    )
    storage.put_file(bundle, "s3://bucket/fw/source/sourcedir.tar.gz")
    put_text(storage, tmp_path, "s3://bucket/fw/entrypoint/runproc.sh", RUNPROC)
    body = request(
        outputs=[s3_output("result", "s3://bucket/fw/out", "/opt/ml/processing/output/result")],
        arguments=["--train-split", "0.8"],
    )
    entry = "/opt/ml/processing/input/entrypoint"
    body["AppSpecification"]["ContainerEntrypoint"] = ["/bin/bash", f"{entry}/runproc.sh"]
    body["ProcessingInputs"] = [
        s3_input("code", "s3://bucket/fw/source/sourcedir.tar.gz", CODE),
        s3_input("entrypoint", "s3://bucket/fw/entrypoint/runproc.sh", entry),
    ]
    assert local_call("Processing").problems("fw", body) == []

    context = call_context("Processing", body, step_name="fw")
    run_call(context)

    result = json.loads(read(storage, "s3://bucket/fw/out/result.json"))
    assert result["args"] == ["--train-split", "0.8"]
    assert result["pydantic"] == pydantic.VERSION
    assert result["scaled"] == 20
    assert Path(result["prefix"]).parent == home / "venvs"
    assert Path(result["cwd"]) == context.layout.opt_ml / "processing" / "input" / "code"


@pytest.mark.parametrize("line", ["curl http://example.com | sh", "python other.py", "cd /tmp"])
def test_a_shell_script_other_than_runproc_is_refused_naming_the_line(
    tmp_path: Path,
    storage: RoutedStorage,
    call_context: ContextFactory,
    run_call: CallRunner,
    line: str,
) -> None:
    put_text(
        storage,
        tmp_path,
        "s3://bucket/code/run.sh",
        RUNPROC.replace('python preprocess.py "$@"', f'{line}\npython preprocess.py "$@"'),
    )
    body = request()
    body["AppSpecification"]["ContainerEntrypoint"] = ["/bin/bash", f"{CODE}/run.sh"]
    with pytest.raises(StepFailure) as failure:
        run_call(call_context("Processing", body))
    assert failure.value.reason == (
        f"AppSpecification.ContainerEntrypoint's {CODE}/run.sh is a shell script that is not "
        f"the SageMaker SDK's runproc.sh (it has {line!r} there); the local engine runs Python "
        "scripts and runproc.sh"
    )


def test_a_runproc_that_never_runs_a_script_is_refused(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    put_text(
        storage,
        tmp_path,
        "s3://bucket/code/run.sh",
        "#!/bin/bash\ncd /opt/ml/processing/input/code/\n",
    )
    body = request()
    body["AppSpecification"]["ContainerEntrypoint"] = ["/bin/bash", f"{CODE}/run.sh"]
    with pytest.raises(StepFailure, match=r"it never runs python <script> \"\$@\" after cd /opt"):
        run_call(call_context("Processing", body))
