"""Caching: a hit reuses earlier outputs without running the step; what changes the key."""

from __future__ import annotations

from pathlib import Path

from sagepipe.local.layout import step_layout
from sagepipe.storage import RoutedStorage

from .conftest import CodeFactory, Runner, StepFactory, by_name, output_uri

PRODUCER = """
    import pathlib
    data = pathlib.Path("/opt/ml/processing/input/raw/value.txt").read_text()
    pathlib.Path("/opt/ml/processing/output/out/value.txt").write_text(data + "+prep")
"""
CONSUMER = """
    import pathlib
    data = pathlib.Path("/opt/ml/processing/input/out/value.txt").read_text()
    pathlib.Path("/opt/ml/processing/output/final/value.txt").write_text(data + "+use")
"""


def _pipeline(
    tmp_path: Path, make_code: CodeFactory, processing_step: StepFactory, consumer: str = CONSUMER
) -> list:
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    if not (raw / "value.txt").exists():
        (raw / "value.txt").write_text("raw")
    prep = processing_step(
        "prep",
        make_code("prep", **{"script.py": PRODUCER}),
        inputs={"raw": str(raw)},
        outputs=("out",),
    )
    use = processing_step(
        "use",
        make_code("use", **{"script.py": consumer}),
        inputs={"out": prep.output_ref("out")},
        outputs=("final",),
        depends_on=(prep,),
    )
    return [prep, use]


def test_identical_run_is_cached_without_running_a_step_process(
    tmp_path: Path,
    make_code: CodeFactory,
    processing_step: StepFactory,
    run: Runner,
    home: Path,
    storage: RoutedStorage,
) -> None:
    first = run(_pipeline(tmp_path, make_code, processing_step))
    assert first.status == "Succeeded"

    second = run(_pipeline(tmp_path, make_code, processing_step))

    assert second.status == "Succeeded"
    before, after = by_name(first), by_name(second)
    for name in ("prep", "use"):
        assert after[name].status == "Cached"
        assert after[name].cache_hit
        assert after[name].cache_source == first.execution_id
        assert after[name].properties == before[name].properties
        assert after[name].cache_key == before[name].cache_key
        assert not step_layout(home, second.execution_id, name).step_dir.exists()
    final = output_uri(after["use"], "final") + "/value.txt"
    assert storage.open_read(final).read() == b"raw+prep+use"


def test_changed_code_misses_and_unchanged_upstream_hits(
    tmp_path: Path,
    make_code: CodeFactory,
    processing_step: StepFactory,
    run: Runner,
    storage: RoutedStorage,
) -> None:
    run(_pipeline(tmp_path, make_code, processing_step))
    changed = CONSUMER.replace('"+use"', '"+used"')

    outcome = run(_pipeline(tmp_path, make_code, processing_step, consumer=changed))

    records = by_name(outcome)
    assert records["prep"].status == "Cached"
    assert records["use"].status == "Succeeded"
    final = output_uri(records["use"], "final") + "/value.txt"
    assert storage.open_read(final).read() == b"raw+prep+used"


def test_changed_input_data_misses(
    tmp_path: Path, make_code: CodeFactory, processing_step: StepFactory, run: Runner
) -> None:
    run(_pipeline(tmp_path, make_code, processing_step))
    (tmp_path / "raw" / "value.txt").write_text("new raw data")

    outcome = run(_pipeline(tmp_path, make_code, processing_step))

    assert [s.status for s in outcome.steps] == ["Succeeded", "Succeeded"]


def test_no_cache_option_and_step_cache_false_run_again(
    tmp_path: Path, make_code: CodeFactory, processing_step: StepFactory, run: Runner
) -> None:
    run(_pipeline(tmp_path, make_code, processing_step))

    forced = run(_pipeline(tmp_path, make_code, processing_step), use_cache=False)
    assert [s.status for s in forced.steps] == ["Succeeded", "Succeeded"]

    prep, use = _pipeline(tmp_path, make_code, processing_step)
    uncached = prep.model_copy(update={"cache": False})
    outcome = run([uncached, use])
    assert [s.status for s in outcome.steps] == ["Succeeded", "Cached"]


def test_deleted_outputs_are_not_reused(
    tmp_path: Path,
    make_code: CodeFactory,
    processing_step: StepFactory,
    run: Runner,
    storage: RoutedStorage,
) -> None:
    first = run(_pipeline(tmp_path, make_code, processing_step))
    storage.delete(output_uri(by_name(first)["use"], "final"), recursive=True)

    outcome = run(_pipeline(tmp_path, make_code, processing_step))

    assert [s.status for s in outcome.steps] == ["Cached", "Succeeded"]
