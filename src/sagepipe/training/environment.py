"""The container side of a training job: the ``/opt/ml`` tree and the SM_* environment.

Mirrors the SageMaker training toolkit (``sagemaker_training.environment`` and
``mapping``): the SDK stores each hyperparameter JSON-encoded in ``hyperparameters.json``;
the toolkit decodes them, keeps ``sagemaker_*`` ones apart, and exports every property of its
``Environment`` as ``SM_<NAME>`` (strings as-is, anything else as compact sorted JSON).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagepipe.training.spec import TrainingJobSpec

INSTANCE_GROUP = "homogeneousCluster"
NETWORK_INTERFACE = "eth0"
# What the SDK's framework estimators add; the toolkit treats "sagemaker_*" keys apart.
TOOLKIT_KEYS = (
    "sagemaker_program",
    "sagemaker_submit_directory",
    "sagemaker_enable_cloudwatch_metrics",
    "sagemaker_region",
    "sagemaker_container_log_level",
    "sagemaker_job_name",
    "default_user_module_name",
    "_tuning_objective_metric",
    "sagemaker_s3_output",
)
_DISTRIBUTION_FLAGS = {
    "torch_distributed": "sagemaker_torch_distributed_enabled",
    "pytorchddp": "sagemaker_pytorch_ddp_enabled",
}


@dataclass(frozen=True)
class HostLayout:
    """The ``/opt/ml`` directories of one simulated host."""

    host: str
    base: Path

    @property
    def code(self) -> Path:
        return self.base / "code"

    @property
    def model(self) -> Path:
        return self.base / "model"

    @property
    def input(self) -> Path:
        return self.base / "input"

    @property
    def input_config(self) -> Path:
        return self.base / "input" / "config"

    @property
    def output(self) -> Path:
        return self.base / "output"

    @property
    def output_data(self) -> Path:
        return self.base / "output" / "data"

    @property
    def output_intermediate(self) -> Path:
        return self.base / "output" / "intermediate"

    @property
    def checkpoints(self) -> Path:
        return self.base / "checkpoints"

    @property
    def failure_file(self) -> Path:
        return self.base / "output" / "failure"

    def channel(self, name: str) -> Path:
        return self.base / "input" / "data" / name


def host_names(count: int) -> list[str]:
    return [f"algo-{i}" for i in range(1, count + 1)]


def sagemaker_hyperparameters(
    spec: TrainingJobSpec, region: str, layout: HostLayout
) -> dict[str, Any]:
    """The ``sagemaker_*`` hyperparameters the SDK's PyTorch estimator adds.

    On SageMaker the submit directory is the S3 URI of ``sourcedir.tar.gz``; here it is the
    host's code directory, the one place the code really is.
    """
    added: dict[str, Any] = {
        "sagemaker_program": spec.entry_point,
        "sagemaker_submit_directory": str(layout.code),
        "sagemaker_container_log_level": spec.log_level,
        "sagemaker_job_name": spec.job_name,
        "sagemaker_region": region,
    }
    if spec.distribution is not None:
        added[_DISTRIBUTION_FLAGS[spec.distribution]] = True
    return added


def prepare_host(layout: HostLayout, spec: TrainingJobSpec, hosts: list[str], region: str) -> None:
    """Create the host's tree: code, channels, config files and empty output dirs."""
    for directory in (
        layout.model,
        layout.input_config,
        layout.output_data,
        layout.output_intermediate,
        layout.checkpoints,
    ):
        directory.mkdir(parents=True, exist_ok=True)
    if layout.code.exists():
        shutil.rmtree(layout.code)
    shutil.copytree(
        spec.source_dir, layout.code, ignore=shutil.ignore_patterns("__pycache__", ".git")
    )
    if not spec.entry_point.endswith(".py"):
        (layout.code / spec.entry_point).chmod(0o755)  # the toolkit makes commands executable
    for name, source in spec.channels.items():
        link = layout.channel(name)
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(source.absolute(), target_is_directory=True)

    all_hps = {**spec.hyperparameters, **sagemaker_hyperparameters(spec, region, layout)}
    # The SDK JSON-encodes every value; the toolkit decodes them again.
    encoded = {name: json.dumps(value) for name, value in all_hps.items()}
    _write_json(layout.input_config / "hyperparameters.json", encoded)
    _write_json(layout.input_config / "resourceconfig.json", resource_config(spec, hosts, layout))
    _write_json(layout.input_config / "inputdataconfig.json", input_data_config(spec))


def resource_config(spec: TrainingJobSpec, hosts: list[str], layout: HostLayout) -> dict[str, Any]:
    return {
        "current_host": layout.host,
        "current_instance_type": spec.instance_type,
        "current_group_name": INSTANCE_GROUP,
        "hosts": hosts,
        "instance_groups": [
            {
                "instance_group_name": INSTANCE_GROUP,
                "instance_type": spec.instance_type,
                "hosts": hosts,
            }
        ],
        "network_interface_name": NETWORK_INTERFACE,
    }


def input_data_config(spec: TrainingJobSpec) -> dict[str, Any]:
    return {
        name: {
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
            **spec.channel_config.get(name, {}),
        }
        for name in sorted(spec.channels)
    }


def num_gpus() -> int:
    """GPUs visible to the job, counted like the toolkit (``nvidia-smi --list-gpus``)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    try:
        listing = subprocess.run(
            [smi, "--list-gpus"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in listing.splitlines() if line.startswith("GPU "))


def to_cmd_args(hyperparameters: dict[str, Any]) -> list[str]:
    """``--name value`` pairs in sorted order, as the toolkit's ``mapping.to_cmd_args``.

    Values are rendered with ``str()`` (so ``True`` becomes ``True``); dicts as ``k=v,k2=v2``;
    single-letter names get one dash.
    """
    args: list[str] = []
    for name in sorted(hyperparameters):
        value = hyperparameters[name]
        flag = f"--{name}" if len(name) > 1 else f"-{name}"
        if isinstance(value, dict):
            rendered = ",".join(f"{k}={v}" for k, v in sorted(value.items()))
        else:
            rendered = "" if value is None else str(value)
        args.extend([flag, rendered])
    return args


def env_value(value: Any) -> str:
    """The toolkit's ``mapping.to_env_vars`` value format."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _write_json(path: Path, content: Any) -> None:
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n")


def cpu_count() -> int:
    return os.cpu_count() or 1
