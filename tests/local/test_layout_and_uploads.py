"""Work-dir paths, argument rewriting, job names, and uploads that can be rolled back."""

from __future__ import annotations

from pathlib import Path

from sagepipe.local.layout import job_name, rewrite_opt_ml, to_local
from sagepipe.local.uploads import Uploader, roll_back
from sagepipe.storage import get_storage


def test_container_paths_map_onto_the_work_dir() -> None:
    work = Path("/w/opt/ml")
    assert to_local("/opt/ml/processing/input/raw", work) == work / "processing/input/raw"
    assert rewrite_opt_ml("/opt/ml/processing/output/x", work) == "/w/opt/ml/processing/output/x"
    assert rewrite_opt_ml("--out=/opt/ml/model", work) == "--out=/w/opt/ml/model"
    assert rewrite_opt_ml("/opt/mlx", work) == "/opt/mlx"
    assert rewrite_opt_ml("--flag", work) == "--flag"


def test_job_name() -> None:
    name = job_name("My_Step" * 20, "abcdefghijkl")
    assert len(name) <= 63 and name.endswith("-abcdefghijkl") and "_" not in name


def test_roll_back_deletes_what_the_manifest_names(tmp_path: Path) -> None:
    storage = get_storage("local", tmp_path / "home")
    outputs = tmp_path / "out"
    (outputs / "deep").mkdir(parents=True)
    (outputs / "a.txt").write_text("a")
    (outputs / "deep" / "b.txt").write_text("b")
    storage.put_file(outputs / "a.txt", "s3://bucket/earlier/kept.txt")
    manifest = tmp_path / "uploads.txt"

    uris = Uploader(storage, manifest).upload_tree(outputs, "s3://bucket/run/out")

    assert uris == ["s3://bucket/run/out/a.txt", "s3://bucket/run/out/deep/b.txt"]
    assert roll_back(storage, manifest) == 2
    assert storage.list("s3://bucket/run/") == []
    assert storage.exists("s3://bucket/earlier/kept.txt")
    assert not manifest.exists()
