"""`sagepipe demo` on the shipped data, through the real CLI: the whole loop, then a fully
cached second run; the summary's numbers are those of the run store and the registry."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sagepipe.local.store import RunStore
from sagepipe.registry import LocalRegistry

F1_FLOOR = 0.8  # the example reaches ~0.90 on the test split with its fixed seed


def _demo(home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAGEPIPE_HOME": str(home)}
    env.pop("SAGEPIPE_STORAGE", None)
    return subprocess.run(
        [sys.executable, "-m", "sagepipe", "demo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_demo_runs_the_whole_loop_then_hits_the_cache(tmp_path: Path) -> None:
    home = tmp_path / "home"
    elsewhere = tmp_path / "elsewhere"  # the example ships in the package: no clone needed
    elsewhere.mkdir()
    first = _demo(home, elsewhere)
    assert first.returncode == 0, first.stdout + first.stderr
    assert list(elsewhere.iterdir()) == []  # everything went into the home
    out = first.stdout

    execution = re.search(r"execution (\w+): Succeeded in", out)
    assert execution is not None, out
    store = RunStore.open(home)
    try:
        steps = {s.name: s for s in store.steps(execution.group(1))}
        metrics = store.metrics(execution.group(1))
    finally:
        store.close()
    assert set(steps) == {
        "preprocess",
        "train",
        "model-RepackModel",  # the model step compiles to a repack job and a CreateModel
        "model",
        "packaging",
        "payload",
        "registration",
        "transform",
        "evaluate",
    }
    assert {s.status for s in steps.values()} == {"Succeeded"}

    # Metrics: the printed last values are the store's.
    last_f1 = max(
        (p for p in metrics if p.name == "Validation F1 Score"), key=lambda p: p.index
    ).value
    assert re.search(rf"train: Validation F1 Score\s+{last_f1:.4f}\n", out), out

    # Test F1/AUC from the evaluation step, above the floor the model reliably reaches.
    test = re.search(r"test set: F1 ([0-9.]+), AUC ([0-9.]+) \((\d+) records\)", out)
    assert test is not None, out
    assert float(test.group(1)) >= F1_FLOOR
    assert float(test.group(2)) >= 0.85

    # The model package is the registry's, and the served model answered the request.
    arn = steps["registration"].properties["ModelPackageArn"]  # type: ignore[index]
    assert f"model package: {arn}" in out
    package = LocalRegistry(home / "registry.db").describe(arn)
    assert package.model_package_group_name == "tabular-demo"
    answer = re.search(r"answer \(([0-9.]+) ms\): (\[.*\])", out)
    assert answer is not None, out
    assert '"probability"' in answer.group(2) and '"prediction"' in answer.group(2)
    assert f"sagepipe executions show {execution.group(1)}" in out

    second = _demo(home, elsewhere)
    assert second.returncode == 0, second.stdout + second.stderr
    rerun = re.search(r"execution (\w+): Succeeded in", second.stdout)
    assert rerun is not None
    store = RunStore.open(home)
    try:
        again = store.steps(rerun.group(1))
    finally:
        store.close()
    assert {s.status for s in again} == {"Cached"}
    # No duplicate registration: the cached step kept version 1.
    assert [
        v.model_package_version
        for v in LocalRegistry(home / "registry.db").list_versions("tabular-demo", "us-east-1")
    ] == [1]
