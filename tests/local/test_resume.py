"""Resume: only failed and not-run steps run again, in the same execution."""

from __future__ import annotations

import textwrap
from pathlib import Path

from sagepipe.cli.local_compile import compile_for_local
from sagepipe.local.engine import RunOptions, resume_execution
from sagepipe.pipeline import Pipeline
from sagepipe.storage import RoutedStorage

from .conftest import CodeFactory, Runner, StepFactory, by_name, output_uri

COUNTING = """
    import os, pathlib
    with open(os.environ["COUNTER"], "a") as counter:
        counter.write("{name}\\n")
    pathlib.Path("/opt/ml/processing/output/out/{name}.txt").write_text("{name}")
"""


def test_resume_reruns_only_failed_and_not_run_steps(
    tmp_path: Path,
    make_code: CodeFactory,
    processing_step: StepFactory,
    run: Runner,
    home: Path,
    storage: RoutedStorage,
) -> None:
    counter = tmp_path / "counter.txt"
    env = {"COUNTER": str(counter)}
    good = make_code("good", **{"script.py": COUNTING.format(name="good")})
    flaky_dir = make_code("flaky", **{"script.py": "raise SystemExit('not yet')\n"})
    last_dir = make_code("last", **{"script.py": COUNTING.format(name="last")})
    first = processing_step("first", good, outputs=("out",), env=env)
    flaky = processing_step("flaky", flaky_dir, outputs=("out",), depends_on=(first,), env=env)
    last = processing_step("last", last_dir, outputs=("out",), depends_on=(flaky,), env=env)

    failed = run([first, flaky, last])
    assert [s.status for s in failed.steps] == ["Succeeded", "Failed", "NotRun"]
    assert "not yet" in (by_name(failed)["flaky"].failure_reason or "")
    first_record = by_name(failed)["first"]

    (flaky_dir / "script.py").write_text(textwrap.dedent(COUNTING.format(name="flaky")))
    # As sagepipe run --resume does: the pipeline compiled again, so the fixed script is read.
    pipeline = Pipeline("test-pipeline", [first, flaky, last], root=home)
    _, definition = compile_for_local(pipeline, storage)
    resumed = resume_execution(failed.execution_id, RunOptions(home=home), definition=definition)

    assert resumed.execution_id == failed.execution_id
    assert resumed.status == "Succeeded"
    records = by_name(resumed)
    assert [s.status for s in resumed.steps] == ["Succeeded", "Succeeded", "Succeeded"]
    assert records["first"].start_time == first_record.start_time
    assert counter.read_text().split() == ["good", "flaky", "last"]
    first_output = output_uri(records["first"], "out") + "/good.txt"
    assert storage.open_read(first_output).read() == b"good"
    assert f"/{failed.execution_id}/flaky/" in output_uri(records["flaky"], "out") + "/"
