"""The environment variables of the training process, as the toolkit exports them.

``training_environment`` is the toolkit's ``dict(Environment())`` (exported whole as
``SM_TRAINING_ENV``); ``container_env`` adds every ``SM_*`` variable of
``Environment.to_env_vars`` and the few plain variables the toolkit and container set.
"""

from __future__ import annotations

from typing import Any

from sagepipe.training.environment import (
    INSTANCE_GROUP,
    NETWORK_INTERFACE,
    TOOLKIT_KEYS,
    HostLayout,
    env_value,
    input_data_config,
    resource_config,
    sagemaker_hyperparameters,
    to_cmd_args,
)
from sagepipe.training.spec import TrainingJobSpec

# The PyTorch training container's SAGEMAKER_TRAINING_MODULE.
FRAMEWORK_MODULE = "sagemaker_pytorch_container.training:main"


def split_hyperparameters(
    all_hps: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(user hyperparameters, additional framework parameters), as the toolkit splits them."""
    sagemaker = {
        k: v for k, v in all_hps.items() if k in TOOLKIT_KEYS or k.startswith("sagemaker_")
    }
    user = {k: v for k, v in all_hps.items() if k not in sagemaker}
    additional = {k: v for k, v in sagemaker.items() if k not in TOOLKIT_KEYS}
    return user, additional


def training_environment(
    layout: HostLayout,
    spec: TrainingJobSpec,
    hosts: list[str],
    region: str,
    gpus: int,
    cpus: int,
) -> dict[str, Any]:
    """Every property of the toolkit's ``Environment`` for this host."""
    all_hps = {**spec.hyperparameters, **sagemaker_hyperparameters(spec, region, layout)}
    user_hps, additional = split_hyperparameters(all_hps)
    resources = resource_config(spec, hosts, layout)
    distributed = any(bool(v) for k, v in additional.items() if k.endswith("_enabled"))
    distribution_groups = [INSTANCE_GROUP] if distributed else []
    distribution_hosts = list(hosts) if distributed else []
    master = distribution_hosts[0] if distribution_hosts else hosts[0]
    module_name = spec.entry_point[:-3] if spec.entry_point.endswith(".py") else spec.entry_point
    return {
        "additional_framework_parameters": additional,
        "channel_input_dirs": {name: str(layout.channel(name)) for name in spec.channels},
        "current_host": layout.host,
        "current_instance_group": INSTANCE_GROUP,
        "current_instance_group_hosts": list(hosts),
        "current_instance_type": spec.instance_type,
        "distribution_hosts": distribution_hosts,
        "distribution_instance_groups": distribution_groups,
        "framework_module": FRAMEWORK_MODULE,
        "hosts": list(hosts),
        "hyperparameters": user_hps,
        "input_config_dir": str(layout.input_config),
        "input_data_config": input_data_config(spec),
        "input_dir": str(layout.input),
        "instance_groups": [INSTANCE_GROUP],
        "instance_groups_dict": {INSTANCE_GROUP: resources["instance_groups"][0]},
        "is_hetero": False,
        "is_master": layout.host == master,
        "is_modelparallel_enabled": None,
        "is_smddpmprun_installed": False,
        "is_smddprun_installed": False,
        "job_name": spec.job_name,
        "log_level": spec.log_level,
        "master_hostname": master,
        "model_dir": str(layout.model),
        "module_dir": str(layout.code),
        "module_name": module_name,
        "network_interface_name": NETWORK_INTERFACE,
        "num_cpus": cpus,
        "num_gpus": gpus,
        "num_neurons": 0,
        "output_data_dir": str(layout.output_data),
        "output_dir": str(layout.output),
        "output_intermediate_dir": str(layout.output_intermediate),
        "resource_config": resources,
        "topology": [],
        "user_entry_point": spec.entry_point,
    }


def container_env(
    layout: HostLayout,
    spec: TrainingJobSpec,
    hosts: list[str],
    region: str,
    gpus: int,
    cpus: int,
) -> dict[str, str]:
    """The SM_* variables (``Environment.to_env_vars``) plus the container's plain ones."""
    env = training_environment(layout, spec, hosts, region, gpus, cpus)
    exported: dict[str, Any] = {
        "hosts": env["hosts"],
        "network_interface_name": env["network_interface_name"],
        "hps": env["hyperparameters"],
        "user_entry_point": env["user_entry_point"],
        "framework_params": env["additional_framework_parameters"],
        "resource_config": env["resource_config"],
        "input_data_config": env["input_data_config"],
        "output_data_dir": env["output_data_dir"],
        "channels": sorted(env["channel_input_dirs"]),
        "current_host": env["current_host"],
        "current_instance_type": env["current_instance_type"],
        "current_instance_group": env["current_instance_group"],
        "current_instance_group_hosts": env["current_instance_group_hosts"],
        "instance_groups": env["instance_groups"],
        "instance_groups_dict": env["instance_groups_dict"],
        "distribution_instance_groups": env["distribution_instance_groups"],
        "is_hetero": env["is_hetero"],
        "module_name": env["module_name"],
        "log_level": env["log_level"],
        "framework_module": env["framework_module"],
        "input_dir": env["input_dir"],
        "input_config_dir": env["input_config_dir"],
        "output_dir": env["output_dir"],
        "num_cpus": env["num_cpus"],
        "num_gpus": env["num_gpus"],
        "num_neurons": env["num_neurons"],
        "model_dir": env["model_dir"],
        "module_dir": env["module_dir"],
        "training_env": env,
        "user_args": to_cmd_args(env["hyperparameters"]),
        "output_intermediate_dir": env["output_intermediate_dir"],
    }
    for name, path in env["channel_input_dirs"].items():
        exported[f"channel_{name}"] = path
    for name, value in env["hyperparameters"].items():
        exported[f"hp_{name}"] = value
    variables = {f"SM_{key.upper()}": env_value(value) for key, value in exported.items()}
    variables.update(
        {
            "TRAINING_JOB_NAME": spec.job_name,
            "SAGEMAKER_JOB_NAME": spec.job_name,
            "CURRENT_HOST": layout.host,
            "SAGEMAKER_REGION": region,
            "SAGEMAKER_BASE_DIR": str(layout.base),
            "SAGEMAKER_TRAINING_MODULE": FRAMEWORK_MODULE,
            "PYTHONUNBUFFERED": "TRUE",
        }
    )
    return variables
