"""tools/update_pytorch_images.py, run for real on a small SDK table and on a small wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools" / "update_pytorch_images.py"
FIXTURE = Path(__file__).parent / "resources" / "pytorch_small.json"

_IMAGE_URIS_PY = """
def _get_image_tag(tag, framework):
    container_versions = {
        "tensorflow-2.3-gpu-py37": "cu110-ubuntu18.04-v3",
        "pytorch-1.6.0-gpu-py36": "cu110-ubuntu18.04",
    }
    return tag
"""
_FW_UTILS_PY = 'GRAVITON_ALLOWED_TARGET_INSTANCE_FAMILY = ["m6g", "c7g"]\n'
_NEURON = {
    "training": {
        "processors": ["trn"],
        "version_aliases": {"1.11": "1.11.0"},
        "versions": {
            "1.11.0": {
                "py_versions": ["py38"],
                "repository": "pytorch-training-neuron",
                "registries": {"us-east-1": "763104351884"},
                "container_version": {"trn": "ubuntu20.04"},
                "sdk_versions": ["sdk2.4.0"],
            }
        },
    }
}


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_a_pytorch_json_becomes_the_table(tmp_path: Path) -> None:
    output = tmp_path / "table.json"
    done = _run(FIXTURE, "--output", output)
    assert done.returncode == 0, done.stderr
    table: dict[str, Any] = json.loads(output.read_text())
    sdk = json.loads(FIXTURE.read_text())
    assert set(table["scopes"]) == {"training", "inference"}  # eia is not taken
    for scope in ("training", "inference"):
        ours, theirs = table["scopes"][scope], sdk[scope]
        assert ours["version_aliases"] == theirs["version_aliases"]
        assert ours["processors"] == theirs["processors"]
        assert set(ours["versions"]) == set(theirs["versions"])
        for version, entry in theirs["versions"].items():
            record = ours["versions"][version]
            assert record["py_versions"] == entry["py_versions"]
            assert record["repository"] == entry["repository"]
            assert table["registries"][record["registries"]] == entry["registries"]
    assert table["hostnames"] == {
        "af-south-1": "ecr.af-south-1.amazonaws.com",
        "cn-north-1": "ecr.cn-north-1.amazonaws.com.cn",
        "us-east-1": "ecr.us-east-1.amazonaws.com",
    }
    assert table["source"]["file"] == "pytorch_small.json"
    assert table["source"]["package"] is None
    assert table["neuron"] == {} and table["gpu_container_versions"] == {}


def test_a_wheel_gives_the_table_its_neuron_images_and_the_code_constants(tmp_path: Path) -> None:
    wheel = tmp_path / "sagemaker_core-9.8.7-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(FIXTURE, "sagemaker/core/image_uri_config/pytorch.json")
        archive.writestr("sagemaker/core/image_uri_config/pytorch-neuron.json", json.dumps(_NEURON))
        archive.writestr("sagemaker/core/image_uris.py", _IMAGE_URIS_PY)
        archive.writestr("sagemaker/core/fw_utils.py", _FW_UTILS_PY)
    output = tmp_path / "table.json"
    done = _run(wheel, "--output", output)
    assert done.returncode == 0, done.stderr
    table = json.loads(output.read_text())
    assert table["source"]["package"] == "sagemaker_core"
    assert table["source"]["package_version"] == "9.8.7"
    assert table["source"]["file"] == "sagemaker/core/image_uri_config/pytorch.json"
    assert table["gpu_container_versions"] == {"1.6.0-gpu-py36": "cu110-ubuntu18.04"}
    assert table["graviton_families"] == ["m6g", "c7g"]
    neuron = table["neuron"]["training"]["versions"]["1.11.0"]
    assert neuron["sdk_versions"] == ["sdk2.4.0"]
    assert neuron["container_version"] == {"trn": "ubuntu20.04"}


def test_the_committed_table_is_the_scripts_output_format(tmp_path: Path) -> None:
    committed = json.loads((REPO / "src" / "sagepipe" / "data" / "pytorch_images.json").read_text())
    output = tmp_path / "table.json"
    assert _run(FIXTURE, "--output", output).returncode == 0
    assert set(json.loads(output.read_text())) == set(committed)


def test_a_broken_source_is_one_line_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "pytorch.json"
    broken.write_text('{"training": {"versions": {"1.0.0": {"py_versions": ["py3"]}}}}')
    done = _run(broken, "--output", tmp_path / "out.json")
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "training 1.0.0 lacks repository, registries" in done.stderr
    assert not (tmp_path / "out.json").exists()
    missing = _run(tmp_path / "nothing.whl")
    assert missing.returncode == 1 and "no such file" in missing.stderr
