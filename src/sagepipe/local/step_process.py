"""The process of one step: ``python -m sagepipe.local.step_process <request.json>``.

The engine starts it in its own session and process group (and, where possible, its own mount
namespace), with stdout and stderr going to the step's log. It runs the local implementation
of the step's API call, then writes ``result.json``. Exit status: 0 succeeded, 1 failed,
143 stopped (SIGTERM).

It dies with its engine: first thing, it asks the kernel for SIGTERM when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), then checks its parent is still the engine (the engine may
have died before the request was made). On that SIGTERM it undoes its uploads as for any
stop, and then kills its whole session, so the script and whatever the script started
(torchrun, data loader workers) go too: nothing keeps running in the step's directory.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from sagepipe.errors import SagepipeError
from sagepipe.local.errors import StepFailure
from sagepipe.local.layout import StepLayout
from sagepipe.local.protocol import ENGINE_PID_ENV, OptMlMode, StepRequest, StepResult
from sagepipe.local.records import MetricPoint
from sagepipe.local.uploads import Uploader, roll_back
from sagepipe.processes import kill_session, set_parent_death_signal

if TYPE_CHECKING:
    from sagepipe.local.calls.base import StepOutcome

EXIT_FAILED = 1
EXIT_STOPPED = 143


class StepStopped(BaseException):
    """SIGTERM arrived: the engine is stopping this step."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise StepStopped


def log(line: str) -> None:
    """Write one line to the step log (our stdout is the log file)."""
    print(line, flush=True)


def _die_with_engine() -> int | None:
    """Ask for SIGTERM when the engine dies; the engine's pid, or ``None`` if not started by
    an engine (run by hand) or if the kernel cannot do it (not Linux)."""
    engine = os.environ.get(ENGINE_PID_ENV)
    if engine is None or not set_parent_death_signal(signal.SIGTERM):
        return None
    return int(engine)


def _engine_gone(engine_pid: int | None) -> bool:
    # Once the engine has died we are re-parented (to init or a subreaper).
    return engine_pid is not None and os.getppid() != engine_pid


def _end_group() -> None:
    """Kill what is left of our session (the script, training hosts, what they started),
    then ourselves."""
    sys.stdout.flush()
    kill_session(os.getsid(0), signal.SIGKILL)
    os.killpg(os.getpgrp(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    engine_pid = _die_with_engine()
    try:
        if _engine_gone(engine_pid):
            raise StepStopped
        return _main(argv)
    except StepStopped:  # before the step started: nothing to undo
        return EXIT_STOPPED
    finally:
        if _engine_gone(engine_pid):
            log(f"sagepipe: the engine (pid {engine_pid}) ended; the step is stopped")
            _end_group()


def _main(argv: list[str]) -> int:
    request = StepRequest.load(Path(argv[0]))
    layout = StepLayout(Path(request.step_dir))
    from sagepipe.storage import get_storage

    storage = get_storage("s3" if request.storage == "s3" else "local", Path(request.home))
    uploader = Uploader(storage, layout.uploads)
    started = time.monotonic()
    try:
        result = _run(request, layout, uploader)
    except StepStopped:
        roll_back(storage, layout.uploads)
        log("sagepipe: step stopped")
        StepResult(status="Stopped", failure_reason="stopped by the user").save(layout.result)
        return EXIT_STOPPED
    if result.status != "Succeeded":
        roll_back(storage, layout.uploads)
    result.save(layout.result)
    log(
        f"sagepipe: step {request.step_name} {result.status.lower()} "
        f"in {time.monotonic() - started:.2f}s"
    )
    return 0 if result.status == "Succeeded" else EXIT_FAILED


def _run(request: StepRequest, layout: StepLayout, uploader: Uploader) -> StepResult:
    log(
        f"sagepipe: step {request.step_name} ({request.step_type}) of execution "
        f"{request.execution_id}"
    )
    mode = _provide_opt_ml(request.opt_ml_mode, layout)
    try:
        outcome = _call(request, layout, uploader, mode)
    except StepFailure as exc:
        log(f"sagepipe: step failed: {exc.reason}")
        return StepResult(status="Failed", failure_reason=exc.reason)
    except SagepipeError as exc:
        log(f"sagepipe: step failed: {exc}")
        return StepResult(status="Failed", failure_reason=str(exc))
    except OSError as exc:
        # A full disk or a file-size limit met by the implementation itself (an upload, a
        # download): the machine's fault, not the request's.
        traceback.print_exc()
        reason = f"the {request.step_type} step could not access a file: {exc} (log: {layout.log})"
        return StepResult(status="Failed", failure_reason=reason, internal=True)
    except Exception as exc:  # noqa: BLE001 - a step process must always report a result
        traceback.print_exc()
        reason = f"internal error in the {request.step_type} step: {exc!r} (see the step log)"
        return StepResult(status="Failed", failure_reason=reason, internal=True)
    for warning in outcome.warnings:
        log(f"sagepipe: warning: {warning}")
    return StepResult(
        status="Succeeded",
        properties=outcome.properties,
        outputs=outcome.outputs,
        warnings=outcome.warnings,
        process_seconds=outcome.process_seconds,
    )


def _call(
    request: StepRequest, layout: StepLayout, uploader: Uploader, mode: OptMlMode
) -> StepOutcome:
    """Run the local implementation of the step's API call on its evaluated request."""
    from sagepipe.local.calls import CallContext, load_call

    context = CallContext(
        step_name=request.step_name,
        step_type=request.step_type,
        request=request.call_request,
        job_name=request.job_name,
        execution_id=request.execution_id,
        pipeline_name=request.pipeline_name,
        region=request.region,
        home=Path(request.home),
        layout=layout,
        storage=uploader.storage,
        uploader=uploader,
        log=log,
        opt_ml_mode=mode,
        record_metrics=lambda points: _record_metrics(request, points),
        install_requirements=request.install_requirements,
    )
    return load_call(request.call).run(context)


def _record_metrics(request: StepRequest, points: list[MetricPoint]) -> None:
    from sagepipe.local.store import RunStore

    if not points:
        return
    store = RunStore.open(Path(request.home))
    try:
        store.add_metrics(request.execution_id, points)
    finally:
        store.close()


def _provide_opt_ml(mode: OptMlMode, layout: StepLayout) -> OptMlMode:
    from sagepipe.local.sandbox import OPT_ML_ENV, SandboxError, mount_opt_ml

    layout.opt_ml.mkdir(parents=True, exist_ok=True)
    if mode == "namespace":
        try:
            mount_opt_ml(layout.opt_ml, layout.namespace_scratch)
        except SandboxError as exc:
            log(f"sagepipe: cannot mount /opt/ml ({exc}); falling back to rewrite mode")
            mode = "rewrite"
    if mode == "namespace":
        log(
            f"sagepipe: /opt/ml mode: namespace (/opt/ml is {layout.opt_ml} in a private "
            "mount namespace)"
        )
    else:
        log(
            f"sagepipe: /opt/ml mode: rewrite (no mount namespace; /opt/ml in arguments is "
            f"rewritten to {layout.opt_ml}, and ${OPT_ML_ENV} names it)"
        )
    return mode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
