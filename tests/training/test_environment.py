"""The container contract: the /opt/ml tree, every SM_* variable, arguments, code dir."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest

from sagepipe.training.job import INVOKING

from .helpers import RunJob, WriteSource, make_channel

# Reads every variable with os.environ[...] (a KeyError fails the job), then dumps them.
DUMP_ENV = """
import json, os, sys
NAMES = [
    "SM_MODEL_DIR", "SM_OUTPUT_DATA_DIR", "SM_OUTPUT_DIR", "SM_INPUT_DIR",
    "SM_INPUT_CONFIG_DIR", "SM_CHANNELS", "SM_CHANNEL_TRAIN", "SM_CHANNEL_VALIDATION",
    "SM_HPS", "SM_HP_EPOCHS", "SM_HP_LEARNING_RATE", "SM_HP_OPTIMIZER", "SM_HP_LAYERS",
    "SM_HOSTS", "SM_CURRENT_HOST", "SM_NUM_GPUS", "SM_NUM_CPUS", "SM_NUM_NEURONS",
    "SM_NETWORK_INTERFACE_NAME", "SM_RESOURCE_CONFIG", "SM_INPUT_DATA_CONFIG",
    "SM_USER_ARGS", "SM_TRAINING_ENV", "SM_MODULE_DIR", "SM_MODULE_NAME",
    "SM_USER_ENTRY_POINT", "SM_LOG_LEVEL", "SM_FRAMEWORK_PARAMS",
    "SM_CURRENT_INSTANCE_TYPE", "SM_CURRENT_INSTANCE_GROUP", "SM_CURRENT_INSTANCE_GROUP_HOSTS",
    "SM_INSTANCE_GROUPS", "SM_INSTANCE_GROUPS_DICT", "SM_DISTRIBUTION_INSTANCE_GROUPS",
    "SM_IS_HETERO", "SM_FRAMEWORK_MODULE", "SM_OUTPUT_INTERMEDIATE_DIR",
    "TRAINING_JOB_NAME", "CURRENT_HOST", "MY_VAR",
]
values = {name: os.environ[name] for name in NAMES}
values["stray"] = os.environ.get("SM_STRAY", "<unset>")
values["cwd"] = os.getcwd()
values["argv"] = sys.argv[1:]
with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "env.json"), "w") as f:
    json.dump(values, f)
"""


@pytest.fixture
def dumped(
    tmp_path: Path,
    write_source: WriteSource,
    run_job: RunJob,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[dict[str, str], Path]:
    monkeypatch.setenv("SM_STRAY", "from the caller's environment")
    source = write_source({"train.py": DUMP_ENV})
    channels = {
        "train": make_channel(tmp_path, "train", {"a.csv": "1\n"}),
        "validation": make_channel(tmp_path, "validation", {"b.csv": "2\n"}),
    }
    result, _ = run_job(
        source,
        hyperparameters={
            "epochs": 3,
            "learning_rate": 0.01,
            "optimizer": "adam",
            "layers": [64, 32],
        },
        channels=channels,
        env={"MY_VAR": "mine"},
        instance_type="ml.m5.xlarge",
        install_requirements=False,
    )
    assert result.exit_code == 0, result.failure_reason
    values: dict[str, str] = json.loads((result.output_data_dir / "env.json").read_text())
    return values, tmp_path / "work"


def test_directories_and_plain_variables(dumped: tuple[dict[str, str], Path]) -> None:
    env, work = dumped
    assert env["SM_MODEL_DIR"] == str(work / "model")
    assert env["SM_OUTPUT_DATA_DIR"] == str(work / "output" / "data")
    assert env["SM_OUTPUT_DIR"] == str(work / "output")
    assert env["SM_OUTPUT_INTERMEDIATE_DIR"] == str(work / "output" / "intermediate")
    assert env["SM_INPUT_DIR"] == str(work / "input")
    assert env["SM_INPUT_CONFIG_DIR"] == str(work / "input" / "config")
    assert env["SM_MODULE_DIR"] == str(work / "code")
    assert env["SM_MODULE_NAME"] == "train"
    assert env["SM_USER_ENTRY_POINT"] == "train.py"
    assert env["SM_LOG_LEVEL"] == "20"
    assert env["SM_CURRENT_HOST"] == env["CURRENT_HOST"] == "algo-1"
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"]
    assert env["SM_NUM_GPUS"] == "0"
    assert int(env["SM_NUM_CPUS"]) == os.cpu_count()
    assert env["SM_NETWORK_INTERFACE_NAME"] == "eth0"
    assert env["SM_CURRENT_INSTANCE_TYPE"] == "ml.m5.xlarge"
    assert env["SM_FRAMEWORK_PARAMS"] == "{}"
    assert env["SM_IS_HETERO"] == "false"
    assert env["TRAINING_JOB_NAME"] == "test-job"
    assert env["MY_VAR"] == "mine"
    assert env["stray"] == "<unset>"  # the caller's SM_* never leak into the job
    assert env["cwd"] == str(work / "code")


def test_channels(dumped: tuple[dict[str, str], Path]) -> None:
    env, work = dumped
    assert json.loads(env["SM_CHANNELS"]) == ["train", "validation"]
    assert env["SM_CHANNEL_TRAIN"] == str(work / "input" / "data" / "train")
    assert (Path(env["SM_CHANNEL_TRAIN"]) / "a.csv").read_text() == "1\n"
    assert (Path(env["SM_CHANNEL_VALIDATION"]) / "b.csv").read_text() == "2\n"
    data_config = json.loads(env["SM_INPUT_DATA_CONFIG"])
    assert data_config["train"]["TrainingInputMode"] == "File"
    on_disk = json.loads((work / "input" / "config" / "inputdataconfig.json").read_text())
    assert on_disk == data_config


def test_hyperparameters_as_the_toolkit_exports_them(dumped: tuple[dict[str, str], Path]) -> None:
    env, work = dumped
    hps = {"epochs": 3, "layers": [64, 32], "learning_rate": 0.01, "optimizer": "adam"}
    assert json.loads(env["SM_HPS"]) == hps
    assert env["SM_HPS"] == json.dumps(hps, sort_keys=True, separators=(",", ":"))
    assert env["SM_HP_EPOCHS"] == "3"
    assert env["SM_HP_LEARNING_RATE"] == "0.01"
    assert env["SM_HP_OPTIMIZER"] == "adam"
    assert env["SM_HP_LAYERS"] == "[64,32]"
    args = ["--epochs", "3", "--layers", "[64, 32]", "--learning_rate", "0.01"]
    args += ["--optimizer", "adam"]
    assert json.loads(env["SM_USER_ARGS"]) == args
    assert env["argv"] == args
    # hyperparameters.json holds each value JSON-encoded, as the SDK writes it.
    on_disk = json.loads((work / "input" / "config" / "hyperparameters.json").read_text())
    assert on_disk["epochs"] == "3"
    assert on_disk["optimizer"] == '"adam"'
    assert on_disk["sagemaker_program"] == '"train.py"'


def test_resource_config_and_training_env(dumped: tuple[dict[str, str], Path]) -> None:
    env, work = dumped
    resources = json.loads(env["SM_RESOURCE_CONFIG"])
    assert resources["current_host"] == "algo-1"
    assert resources["hosts"] == ["algo-1"]
    assert resources["current_instance_type"] == "ml.m5.xlarge"
    assert resources == json.loads((work / "input" / "config" / "resourceconfig.json").read_text())
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["hyperparameters"]["optimizer"] == "adam"
    assert training_env["channel_input_dirs"]["train"] == env["SM_CHANNEL_TRAIN"]
    assert training_env["is_master"] is True
    assert training_env["master_hostname"] == "algo-1"
    assert training_env["job_name"] == "test-job"
    assert training_env["model_dir"] == env["SM_MODEL_DIR"]


def test_tree_layout(dumped: tuple[dict[str, str], Path]) -> None:
    _, work = dumped
    for relative in ("model", "output/data", "code/train.py", "checkpoints", "input/config"):
        assert (work / relative).exists(), relative
    assert (work / "training.log").is_file()


def test_argparse_script_and_sibling_import(write_source: WriteSource, run_job: RunJob) -> None:
    source = write_source(
        {
            "train.py": """
            import argparse, os
            from helpers.model import describe
            parser = argparse.ArgumentParser()
            parser.add_argument("--epochs", type=int, required=True)
            parser.add_argument("--lr", type=float, default=1.0)
            parser.add_argument("--use-cuda", type=lambda s: s == "True", default=False)
            parser.add_argument("--name", type=str)
            parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
            args = parser.parse_args()
            with open(os.path.join(args.model_dir, "out.txt"), "w") as f:
                f.write(describe(args))
            """,
            "helpers/__init__.py": "",
            "helpers/model.py": """
            def describe(args):
                return f"{args.epochs}|{args.lr}|{args.use_cuda}|{args.name}"
            """,
        }
    )
    result, _ = run_job(
        source,
        hyperparameters={"epochs": 2, "lr": 0.5, "use-cuda": True, "name": "two words"},
        install_requirements=False,
    )
    assert result.exit_code == 0, result.failure_reason
    assert (result.model_dir / "out.txt").read_text() == "2|0.5|True|two words"


def test_shell_entry_point(write_source: WriteSource, run_job: RunJob) -> None:
    source = write_source({"run.sh": 'echo "host=$SM_CURRENT_HOST args=$*"\n'})
    result, lines = run_job(source, entry_point="run.sh", hyperparameters={"k": "v w"})
    assert result.exit_code == 0, result.failure_reason
    assert lines == ["host=algo-1 args=-k v w"]
    # The command line the job logs first is the one that ran, quoted for a shell.
    first = result.log_path.read_text().splitlines()[0]
    assert first == f"{INVOKING}/bin/sh -c './run.sh -k '\"'\"'v w'\"'\"''"
    assert shlex.split(first.removeprefix(INVOKING)) == ["/bin/sh", "-c", "./run.sh -k 'v w'"]
