"""The processing container contract: /opt/ml paths, code, config files, arguments, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagepipe.local.sandbox import detect_mode
from sagepipe.storage import RoutedStorage

from .conftest import CodeFactory, Runner, StepFactory, by_name, output_uri

CONTRACT_SCRIPT = """
    import json, os, pathlib, sys
    import helper  # a sibling module: the code dir is the working directory

    inputs = pathlib.Path("/opt/ml/processing/input")
    out = pathlib.Path("/opt/ml/processing/output/report")
    config = json.loads(pathlib.Path("/opt/ml/config/processingjobconfig.json").read_text())
    resources = json.loads(pathlib.Path("/opt/ml/config/resourceconfig.json").read_text())
    report = {
        "args": sys.argv[1:],
        "local": sorted(p.name for p in (inputs / "local").rglob("*") if p.is_file()),
        "stored": sorted(p.name for p in (inputs / "stored").rglob("*") if p.is_file()),
        "code": sorted(os.listdir(inputs / "code")),
        "cwd_is_code": os.path.samefile(os.getcwd(), inputs / "code"),
        "job": config["ProcessingJobName"],
        "outputs": [o["OutputName"] for o in config["ProcessingOutputConfig"]["Outputs"]],
        "hosts": resources["hosts"],
        "env": os.environ["MY_SETTING"],
        "helper": helper.VALUE,
    }
    (out / "nested").mkdir(parents=True)
    (out / "report.json").write_text(json.dumps(report))
    (out / "nested" / "copy.txt").write_text((inputs / "local" / "a.txt").read_text())
    print("report written")
"""


def _inputs(tmp_path: Path, storage: RoutedStorage) -> dict[str, str]:
    local = tmp_path / "local-data"
    (local / "sub").mkdir(parents=True)
    (local / "a.txt").write_text("from a local dir")
    (local / "sub" / "b.txt").write_text("b")
    extra = tmp_path / "c.csv"
    extra.write_text("c")
    storage.put_file(extra, "s3://sagepipe-local/raw/part/c.csv")
    return {"local": str(local), "stored": "s3://sagepipe-local/raw/"}


def test_script_with_hard_coded_paths_runs_unmodified(
    tmp_path: Path,
    make_code: CodeFactory,
    processing_step: StepFactory,
    run: Runner,
    storage: RoutedStorage,
) -> None:
    if detect_mode() != "namespace":
        pytest.skip("this machine cannot give a step a private /opt/ml")
    code = make_code("prep", **{"script.py": CONTRACT_SCRIPT, "helper.py": "VALUE = 42\n"})
    step = processing_step(
        "prep",
        code,
        inputs=_inputs(tmp_path, storage),
        outputs=("report",),
        arguments=["--split", "0.2", "--flag"],
        env={"MY_SETTING": "on"},
    )
    host_had_opt_ml = Path("/opt/ml").exists()

    outcome = run([step])

    prep = by_name(outcome)["prep"]
    assert outcome.status == "Succeeded", prep.failure_reason
    uri = output_uri(prep, "report")
    assert uri == f"s3://sagepipe-local/test-pipeline/{outcome.execution_id}/prep/output/report"
    report = json.loads(storage.open_read(f"{uri}/report.json").read())
    assert report == {
        "args": ["--split", "0.2", "--flag"],
        "local": ["a.txt", "b.txt"],
        "stored": ["c.csv"],
        "code": ["helper.py", "script.py"],
        "cwd_is_code": True,
        "job": prep.properties["ProcessingJobName"],
        "outputs": ["report"],
        "hosts": ["algo-1"],
        "env": "on",
        "helper": 42,
    }
    assert storage.open_read(f"{uri}/nested/copy.txt").read() == b"from a local dir"
    assert prep.properties["ProcessingJobStatus"] == "Completed"
    log = Path(prep.log_path).read_text()
    assert "report written" in log
    assert "/opt/ml mode: namespace" in log
    assert Path("/opt/ml").exists() == host_had_opt_ml


def test_rewrite_mode_rewrites_arguments_and_names_the_work_dir(
    make_code: CodeFactory,
    processing_step: StepFactory,
    run: Runner,
    storage: RoutedStorage,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAGEPIPE_OPT_ML_MODE", "rewrite")
    code = make_code(
        "rewrite",
        **{
            "script.py": """
                import os, pathlib, sys
                out = pathlib.Path(sys.argv[2])
                base = pathlib.Path(os.environ["SAGEPIPE_OPT_ML"])
                assert out == base / "processing" / "output" / "result", (out, base)
                (out / "args.txt").write_text(" ".join(sys.argv[1:]))
            """
        },
    )
    step = processing_step(
        "prep",
        code,
        outputs=("result",),
        arguments=["--out", "/opt/ml/processing/output/result", "--keep=/data/x"],
    )

    outcome = run([step])

    prep = by_name(outcome)["prep"]
    assert outcome.status == "Succeeded", prep.failure_reason
    written = storage.open_read(f"{output_uri(prep, 'result')}/args.txt").read().decode()
    assert written.endswith("/work/opt/ml/processing/output/result --keep=/data/x")
    assert "/opt/ml mode: rewrite" in Path(prep.log_path).read_text()


PARALLEL_SCRIPT = """
    import os, pathlib, sys, time
    me = sys.argv[1]
    meeting = pathlib.Path(os.environ["MEETING"])
    (meeting / me).write_text("here")
    deadline = time.monotonic() + 60
    while len(list(meeting.iterdir())) < 2:  # both steps must be running at once
        if time.monotonic() > deadline:
            sys.exit("the other step never started while this one ran")
        time.sleep(0.02)
    out = pathlib.Path("/opt/ml/processing/output/out")
    (out / f"{me}.txt").write_text(me)
    print(sorted(p.name for p in out.iterdir()))
"""


def test_independent_steps_run_in_parallel_each_with_its_own_opt_ml(
    tmp_path: Path,
    make_code: CodeFactory,
    processing_step: StepFactory,
    run: Runner,
    storage: RoutedStorage,
) -> None:
    if detect_mode() != "namespace":
        pytest.skip("this machine cannot give a step a private /opt/ml")
    meeting = tmp_path / "meeting"
    meeting.mkdir()
    code = make_code("parallel", **{"script.py": PARALLEL_SCRIPT})
    steps = [
        processing_step(
            name, code, outputs=("out",), arguments=[name], env={"MEETING": str(meeting)}
        )
        for name in ("left", "right")
    ]

    outcome = run(steps, max_parallel=2)

    records = by_name(outcome)
    assert outcome.status == "Succeeded", [r.failure_reason for r in outcome.steps]
    left, right = records["left"], records["right"]
    assert left.start_time < right.end_time and right.start_time < left.end_time
    for name in ("left", "right"):
        listed = storage.list(output_uri(records[name], "out"))
        assert [info.uri.rsplit("/", 1)[-1] for info in listed] == [f"{name}.txt"]


def test_failing_script_keeps_its_log_and_reason(
    make_code: CodeFactory, processing_step: StepFactory, run: Runner, storage: RoutedStorage
) -> None:
    code = make_code(
        "bad",
        **{
            "script.py": """
                import pathlib
                pathlib.Path("/opt/ml/processing/output/out/half.txt").write_text("x")
                print("about to fail")
                raise ValueError("the data has no label column")
            """
        },
    )
    first = processing_step("first", make_code("ok", **{"script.py": "print('ok')\n"}))
    step = processing_step("bad", code, outputs=("out",), depends_on=(first,))
    after = processing_step(
        "after", make_code("never", **{"script.py": "print(1)\n"}), depends_on=(step,)
    )

    outcome = run([first, step, after])

    records = by_name(outcome)
    assert outcome.status == "Failed"
    bad = records["bad"]
    assert bad.status == "Failed"
    assert "exited with code 1" in bad.failure_reason
    assert "ValueError: the data has no label column" in bad.failure_reason
    assert "about to fail" in Path(bad.log_path).read_text()
    assert records["after"].status == "NotRun"
    assert records["first"].status == "Succeeded"
    assert "'bad'" in (outcome.failure_reason or "")
    prefix = f"s3://sagepipe-local/test-pipeline/{outcome.execution_id}/bad"
    assert storage.list(prefix) == []


def test_unknown_step_type_fails_before_anything_runs(
    make_code: CodeFactory, processing_step: StepFactory, run: Runner, home: Path
) -> None:
    from sagepipe.sagemaker.errors import CompileError

    step = processing_step("prep", make_code("x", **{"script.py": "print(1)\n"}))
    odd = step.model_copy(update={"step_type": "QuantumStep"})
    # A pipeline runs as its compiled definition: what cannot be compiled does not run.
    with pytest.raises(CompileError, match="step 'prep' has step type 'QuantumStep'"):
        run([odd])
    assert not (home / "executions").exists()
