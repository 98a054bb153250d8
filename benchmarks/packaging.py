"""Packaging speed: ``sagepipe.artifacts.package_model`` against the SageMaker SDK's repack.

The input is a model.tar.gz (gzip -6) holding one ``torch.save``d state_dict of random float32
weights (``--size-mb``, default 1024). Measured in the same run:

* ours: ``package_model`` adding ``code/`` (inference.py, requirements.txt); the input's
  model bytes are spliced (copied compressed) when it qualifies, which the output line says.
  It runs ``--runs`` times (default 3) and its median counts: a run of two seconds on a
  shared machine varies by 10-15 % from run to run, the reference's 40-50 s much less;
* the reference: ``sagemaker.utils.repack_model`` of sagemaker==2.257.7 on ``file://`` URIs,
  installed by this script in its own virtualenv under the cache dir (never in .venv);
* the floor: an uncompressed ``tar cf`` of the same files.

It prints the three times, the ratios (target: ours >= 20x faster than repack_model) and our
output size against what gzip -6 makes of the same tar stream (target: at most 1% larger).
The input and the virtualenv are cached (``--cache-dir``, default ~/.cache/sagepipe-bench).

    python benchmarks/packaging.py [--size-mb 1024] [--runs 3] [--threads N] [--skip-reference]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

SAGEMAKER_REQUIREMENT = "sagemaker==2.257.7"
TARGET_SPEEDUP = 20.0
TARGET_SIZE_EXCESS = 0.01
REPACK_SCRIPT = """
import json, sys, time, types
from sagemaker.utils import repack_model
model_uri, out_uri, source_dir = sys.argv[1:4]
session = types.SimpleNamespace(settings=None)  # file:// URIs need no AWS session
started = time.perf_counter()
repack_model("inference.py", source_dir, [], model_uri, out_uri, session)
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def sagemaker_python(cache: Path) -> Path:
    """The Python of a virtualenv with the reference SDK, created on first use."""
    venv = cache / "venv-sagemaker-2.257.7"
    python = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        print(f"installing {SAGEMAKER_REQUIREMENT} into {venv} (once)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", SAGEMAKER_REQUIREMENT], check=True
        )
        (venv / ".installed").touch()
    return python


def model_input(cache: Path, size_mb: int) -> tuple[Path, Path]:
    """``model.pth`` (random float32 state_dict) and its model.tar.gz (gzip -6), cached."""
    folder = cache / f"model-{size_mb}mb"
    weights, archive = folder / "model.pth", folder / "model.tar.gz"
    if archive.exists():
        return weights, archive
    import torch

    print(f"writing a {size_mb} MiB state_dict and its model.tar.gz (once)...", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(0)
    per_tensor = size_mb * (1 << 20) // 4 // 16
    state = {f"layers.{i}.weight": torch.randn(per_tensor, generator=generator) for i in range(16)}
    torch.save(state, weights)
    partial = archive.with_suffix(".partial")
    with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
        tar.add(weights, arcname="model.pth")
    partial.rename(archive)
    return weights, archive


def settle() -> None:
    """Write back dirty pages before a timed phase: none pays for an earlier one's writes
    (the kernel flushes them in the background, on the same two cores)."""
    os.sync()
    time.sleep(1)


def inflate_seconds(archive: Path) -> float:
    """Seconds to only decompress ``archive`` with ISA-L: the floor of any streaming repack."""
    from isal import igzip

    buffer = memoryview(bytearray(1 << 22))
    started = time.perf_counter()
    with igzip.open(archive, "rb") as stream:  # type: ignore[no-untyped-call]
        while stream.readinto(buffer):
            pass
    return time.perf_counter() - started


def gzip6_size(archive: Path) -> tuple[int, int]:
    """(uncompressed size, gzip -6 size) of the tar stream inside ``archive``."""
    from isal import igzip

    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    raw = size = 0
    with igzip.open(archive, "rb") as stream:  # type: ignore[no-untyped-call]
        while chunk := stream.read(1 << 22):
            raw += len(chunk)
            size += len(compressor.compress(chunk))
    return raw, size + len(compressor.flush())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="weights size (MiB)")
    parser.add_argument("--runs", type=int, default=3, help="runs of ours; the median counts")
    parser.add_argument("--threads", type=int, default=None, help="our compression threads")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("SAGEPIPE_BENCH_CACHE", "~/.cache/sagepipe-bench")),
    )
    parser.add_argument(
        "--skip-reference", action="store_true", help="do not run repack_model (quick runs)"
    )
    args = parser.parse_args()
    cache = args.cache_dir.expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    weights, archive = model_input(cache, args.size_mb)

    from sagepipe.artifacts.package import package_model

    with tempfile.TemporaryDirectory(prefix="sagepipe-bench-", dir=cache) as scratch:
        work = Path(scratch)
        code = work / "code"
        code.mkdir()
        (code / "inference.py").write_text("def model_fn(model_dir):\n    return None\n")
        (code / "requirements.txt").write_text("numpy\n")

        runs = []
        for _ in range(max(1, args.runs)):
            (work / "ours.tar.gz").unlink(missing_ok=True)
            settle()
            report = package_model(
                archive, code, "inference.py", [], work / "ours.tar.gz", threads=args.threads
            )
            runs.append(report.seconds)
        ours = statistics.median(runs)
        how = f"spliced {report.spliced_bytes} bytes" if report.spliced_bytes else "recompressed"
        print(
            f"ours (package_model):        {ours:8.2f} s  -> {report.compressed_bytes} bytes "
            f"({how}); median of {', '.join(f'{run:.2f}' for run in runs)} s"
        )

        settle()
        started = time.perf_counter()
        subprocess.run(
            [
                "tar",
                "cf",
                str(work / "plain.tar"),
                "-C",
                str(weights.parent),
                weights.name,
                "-C",
                str(work),
                "code",
            ],
            check=True,
        )
        tar_seconds = time.perf_counter() - started
        print(f"tar cf (uncompressed floor): {tar_seconds:8.2f} s")

        settle()
        inflate = inflate_seconds(archive)
        print(f"inflate the input only:      {inflate:8.2f} s  (ISA-L, one thread)")

        repack = None
        if not args.skip_reference:
            python = sagemaker_python(cache)
            settle()
            result = subprocess.run(
                [
                    str(python),
                    "-c",
                    REPACK_SCRIPT,
                    f"file://{archive}",
                    f"file://{work / 'repacked.tar.gz'}",
                    str(code),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            repack = float(json.loads(result.stdout.strip().splitlines()[-1])["seconds"])
            repacked = (work / "repacked.tar.gz").stat().st_size
            print(f"repack_model (SDK 2.257.7):  {repack:8.2f} s  -> {repacked} bytes")

        raw, reference_size = gzip6_size(work / "ours.tar.gz")
        excess = report.compressed_bytes / reference_size - 1
        print(f"our tar stream: {raw} bytes; gzip -6 of it: {reference_size} bytes")
        print(
            f"size vs gzip -6: {excess:+.3%} (target <= +{TARGET_SIZE_EXCESS:.0%}) "
            f"{'OK' if excess <= TARGET_SIZE_EXCESS else 'MISSED'}"
        )
        print(f"ours / tar cf: {ours / tar_seconds:.2f}x the uncompressed floor")
        print(f"ours / inflate only: {ours / inflate:.2f}x the decompression floor")
        if repack is not None:
            speedup = repack / ours
            print(
                f"speed-up vs repack_model: {speedup:.1f}x (target >= {TARGET_SPEEDUP:.0f}x) "
                f"{'OK' if speedup >= TARGET_SPEEDUP else 'MISSED'}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
