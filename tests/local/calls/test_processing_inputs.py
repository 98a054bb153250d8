"""A processing job's ProcessingInputs: prefixes, manifests, nested paths, shards, missing
objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sagepipe.local.errors import StepFailure
from sagepipe.storage import RoutedStorage

from .conftest import CallRunner, ContextFactory
from .processing_requests import (
    input_files,
    put_script,
    put_text,
    read,
    request,
    s3_input,
    s3_output,
)


def test_a_local_path_nested_in_another_input_lands_inside_it(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    # The SDK's FrameworkProcessor pattern: one input at /opt/ml/processing/input and the
    # code under it, listed first, so it must still end up inside the outer input.
    put_text(storage, tmp_path, "s3://bucket/whole/a.txt", "a")
    put_text(storage, tmp_path, "s3://bucket/whole/deep/b.txt", "b")
    outer = s3_input("all", "s3://bucket/whole", "/opt/ml/processing/input")
    files = input_files(storage, tmp_path, [outer], call_context, run_call)
    assert files == ["a.txt", "code/job.py", "deep/b.txt"]


def manifest_input(storage: RoutedStorage, tmp_path: Path, keys: list[str]) -> dict[str, Any]:
    """A ManifestFile input at ``.../input/listed`` whose manifest lists ``keys`` under
    ``s3://bucket/pool/``."""
    manifest = [{"prefix": "s3://bucket/pool/"}, *keys]
    put_text(storage, tmp_path, "s3://bucket/manifests/m.json", json.dumps(manifest))
    uri, local = "s3://bucket/manifests/m.json", "/opt/ml/processing/input/listed"
    return s3_input("listed", uri, local, S3DataType="ManifestFile")


def test_a_manifest_file_input_downloads_the_listed_objects(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    put_text(storage, tmp_path, "s3://bucket/pool/x/1.csv", "1")
    put_text(storage, tmp_path, "s3://bucket/pool/y/2.csv", "2")
    put_text(storage, tmp_path, "s3://bucket/pool/unlisted.csv", "no")
    listed = manifest_input(storage, tmp_path, ["x/1.csv", "y/2.csv"])
    files = input_files(storage, tmp_path, [listed], call_context, run_call)
    assert files == ["code/job.py", "listed/x/1.csv", "listed/y/2.csv"]


def test_a_manifest_listing_a_missing_object_fails_naming_it(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    put_script(storage, tmp_path, "print('never')")
    listed = manifest_input(storage, tmp_path, ["gone.csv"])
    with pytest.raises(StepFailure, match=r"lists s3://bucket/pool/gone\.csv, where there is no"):
        run_call(call_context("Processing", request(inputs=[listed])))


SHARD_REPORT = """
    import json, os, pathlib
    opt_ml = pathlib.Path(os.environ["SAGEPIPE_OPT_ML"])
    resources = json.loads((opt_ml / "config" / "resourceconfig.json").read_text())
    me = resources["current_host"]
    shard = sorted(p.name for p in (opt_ml / "processing" / "input" / "parts").iterdir())
    copy = sorted(p.name for p in (opt_ml / "processing" / "input" / "all").iterdir())
    out = opt_ml / "processing" / "output" / "hosts"
    (out / f"{me}.json").write_text(json.dumps({"hosts": resources["hosts"], "shard": shard,
                                                "all": copy}))
"""


def test_several_instances_run_as_hosts_with_sharded_inputs_and_one_output(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    put_script(storage, tmp_path, SHARD_REPORT)
    for index in range(5):
        put_text(storage, tmp_path, f"s3://bucket/parts/p{index}.csv", str(index))
    body = request(
        inputs=[
            s3_input(
                "parts",
                "s3://bucket/parts/",
                "/opt/ml/processing/input/parts",
                S3DataDistributionType="ShardedByS3Key",
            ),
            s3_input("all", "s3://bucket/parts/", "/opt/ml/processing/input/all"),
        ],
        outputs=[s3_output("hosts", "s3://bucket/hosts", "/opt/ml/processing/output/hosts")],
    )
    body["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = 2
    outcome = run_call(call_context("Processing", body))

    first = json.loads(read(storage, "s3://bucket/hosts/algo-1.json"))
    second = json.loads(read(storage, "s3://bucket/hosts/algo-2.json"))
    everything = [f"p{i}.csv" for i in range(5)]
    assert first["hosts"] == second["hosts"] == ["algo-1", "algo-2"]
    assert first["shard"] == ["p0.csv", "p2.csv", "p4.csv"]
    assert second["shard"] == ["p1.csv", "p3.csv"]
    assert first["all"] == second["all"] == everything
    assert outcome.outputs == [{"uri": "s3://bucket/hosts", "objects": 2}]


def test_a_missing_input_fails_the_step_naming_the_uri(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    put_script(storage, tmp_path, "print('never')")
    missing = s3_input("raw", "s3://bucket/nothing/here", "/opt/ml/processing/input/raw")
    context = call_context("Processing", request(inputs=[missing]))
    with pytest.raises(StepFailure) as failure:
        run_call(context)
    assert failure.value.reason.startswith(
        "ProcessingInputs 'raw' reads s3://bucket/nothing/here, where there is no object"
    )
    assert "never" not in context.layout.log.read_text()


def test_an_evaluated_data_type_the_api_does_not_know_fails_the_step(
    tmp_path: Path, storage: RoutedStorage, call_context: ContextFactory, run_call: CallRunner
) -> None:
    put_script(storage, tmp_path, "print('never')")
    body = request()
    body["ProcessingInputs"][0]["S3Input"]["S3DataType"] = "Folder"  # from a parameter
    with pytest.raises(StepFailure, match=r"^ProcessingInputs 'code': S3DataType 'Folder' /"):
        run_call(call_context("Processing", body))
