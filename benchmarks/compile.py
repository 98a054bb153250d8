"""Compile speed: the SageMaker compiler against the SageMaker Python SDK.

Measured in the same run:

* a generated 100-step pipeline (25 x processing -> training -> model -> transform):
  compile + validate, cold (a fresh process: importing ``sagepipe.sagemaker`` and loading
  botocore's SageMaker model included) and warm (median of 5 in one process); target 0.5 s;
* the five-step example (preprocess, train, model, transform, endpoint; ``tests/sagemaker``):
  ours (fresh process: import + compile + validate) next to the SDK 2.257.7's import +
  ``Pipeline.definition()`` of the same pipeline, run in the SDK's own virtualenv (created
  under ``--cache-dir`` on first use; the SDK is never installed into sagepipe's) against a
  moto server started here (the SDK's session creates its default bucket).

    python benchmarks/compile.py [--steps 100] [--cache-dir DIR] [--skip-reference]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
TARGET_SECONDS = 0.5


def chain(steps: int):  # type: ignore[no-untyped-def]
    """``steps`` steps: blocks of processing -> training -> model -> transform."""
    from sagemaker.resources.pipelines import CODE, HYPERPARAMETERS, SHARED  # tests/sagemaker
    from sagepipe.config import (
        BatchTransformConfig,
        ModelHyperparameters,
        ProcessingConfig,
        ProcessingInput,
        ProcessingOutput,
        PyTorchModelConfig,
        PyTorchTrainingConfig,
    )
    from sagepipe.pipeline import Pipeline
    from sagepipe.steps import (
        BatchTransformStepBuilder,
        ProcessingStepBuilder,
        PyTorchModelStepBuilder,
        PyTorchTrainingStepBuilder,
    )

    code = str(CODE)
    processing = ProcessingConfig(
        **SHARED,
        processing_entry_point="preprocess.py",
        source_dir=code,
        inputs=[ProcessingInput(name="raw_data")],
        outputs=[ProcessingOutput(name="processed_data")],
    )
    training = PyTorchTrainingConfig(
        **SHARED, source_dir=code, hyperparameters=ModelHyperparameters(**HYPERPARAMETERS)
    )
    model = PyTorchModelConfig(**SHARED, source_dir=code)
    transform = BatchTransformConfig(**SHARED)
    built = []
    source: object = "s3://sagepipe-test-bucket/raw/"
    for block in range(steps // 4):
        prep = ProcessingStepBuilder(processing).create_step(
            name=f"prep{block}", inputs={"raw_data": source}
        )
        train = PyTorchTrainingStepBuilder(training).create_step([prep], name=f"train{block}")
        served = PyTorchModelStepBuilder(model).create_step([train], name=f"model{block}")
        scored = BatchTransformStepBuilder(transform).create_step(
            [served, prep],
            name=f"score{block}",
            inputs={"input_data": prep.output_ref("processed_data")},
        )
        built += [prep, train, served, scored]
        source = prep.output_ref("processed_data")
    return Pipeline("chain", built, root=CODE.parent)


def cold(what: str, steps: int) -> dict[str, float]:
    """Run ``--child`` in a fresh process: the compile there pays every import."""
    command = [sys.executable, __file__, "--child", what, "--steps", str(steps)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=300)
    result: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return result


def child(what: str, steps: int) -> None:
    from sagemaker.resources.pipelines import FIVE_STEPS, full_pipeline  # tests/sagemaker

    pipeline = chain(steps) if what == "chain" else full_pipeline(only=FIVE_STEPS)
    started = time.perf_counter()
    from sagepipe.sagemaker import compile_pipeline

    compiled = compile_pipeline(pipeline)
    elapsed = time.perf_counter() - started
    print(json.dumps({"steps": len(compiled.definition["Steps"]), "compile_s": elapsed}))  # type: ignore[arg-type]


def warm(steps: int) -> tuple[int, float]:
    from sagepipe.sagemaker import compile_pipeline

    pipeline = chain(steps)
    compile_pipeline(pipeline)
    times = []
    count = 0
    for _ in range(5):
        started = time.perf_counter()
        compiled = compile_pipeline(pipeline)
        times.append(time.perf_counter() - started)
        count = len(compiled.definition["Steps"])  # type: ignore[arg-type]
    return count, statistics.median(times)


def moto_server() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                return process, endpoint
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.1)


def reference(cache_dir: Path) -> dict[str, float]:
    from sagemaker.resources.pipelines import full_pipeline  # tests/sagemaker
    from sagemaker.sdk_env import reference_spec, sdk_env, sdk_python
    from sagepipe.sagemaker import compile_pipeline

    python = sdk_python(cache_dir)
    full = compile_pipeline(full_pipeline()).definition
    process, endpoint = moto_server()
    try:
        with tempfile.TemporaryDirectory() as work:
            spec = Path(work) / "spec.json"
            spec.write_text(json.dumps(reference_spec(full)))
            out = Path(work) / "definition.json"
            started = time.perf_counter()
            subprocess.run(
                [
                    str(python),
                    str(TESTS / "sagemaker/resources/sdk_reference.py"),
                    str(spec),
                    str(out),
                    "five",
                ],
                env=sdk_env(Path(work), endpoint),
                check=True,
                capture_output=True,
                timeout=300,
            )
            total = time.perf_counter() - started
            timing: dict[str, float] = json.loads(Path(str(out) + ".timing").read_text())
            timing["process_s"] = total
            timing["steps"] = len(json.loads(out.read_text())["Steps"])
            return timing
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=ROOT / ".pytest_cache" / "d" / "sagemaker-sdk-2.257.7",
        help="where the SDK's virtualenv lives (shared with the differential test)",
    )
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--child", choices=["chain", "five"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(TESTS))
    if args.child:
        child(args.child, args.steps)
        return 0

    big = cold("chain", args.steps)
    count, warm_s = warm(args.steps)
    print(f"{args.steps}-step pipeline ({count} SageMaker steps), compile + validate:")
    print(
        f"  cold (fresh process, imports and botocore model included): {big['compile_s']:.3f} s"
        f"  ({big['compile_s'] / TARGET_SECONDS:.2f} x the {TARGET_SECONDS} s target)"
    )
    print(f"  warm (median of 5): {warm_s:.3f} s")

    ours = cold("five", args.steps)
    print(f"five-step example ({ours['steps']:.0f} SageMaker steps):")
    print(f"  sagepipe: import + compile + validate {ours['compile_s']:.3f} s")
    if args.skip_reference:
        return 0
    sdk = reference(args.cache_dir)
    sdk_total = sdk["import_s"] + sdk["definition_s"]
    print(
        f"  SageMaker SDK 2.257.7: import {sdk['import_s']:.3f} s + definition() "
        f"{sdk['definition_s']:.3f} s = {sdk_total:.3f} s ({sdk['steps']:.0f} steps)"
    )
    print(f"  ratio: sagepipe is {sdk_total / ours['compile_s']:.1f}x faster")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
