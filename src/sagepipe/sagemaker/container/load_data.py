"""sagepipe's data-loading script, run by the data-loading step's SageMaker processing job.

The stand-in for Amazon-internal Cradle data loading, which sagepipe cannot provide: the job's
``source`` input (an S3 prefix or object, downloaded by SageMaker before the script starts) is
copied to the ``data`` output, keeping each file's path relative to the input. Only the files
whose relative path matches one of the ``include`` patterns of the config shipped beside this
script are copied (``fnmatch`` patterns, where ``*`` also matches ``/``).

Standalone on purpose: it runs inside the PyTorch container, which has no sagepipe, and it
installs nothing. It uses only the standard library and runs on Python 3.9 and later. On bad
input the reason goes to stderr and to ``/opt/ml/output/message`` (the job's failure reason)
and the script exits with status 1.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import sys
from pathlib import Path

# SageMaker mounts the job at /opt/ml; sagepipe's local engine, where it cannot mount it,
# names the directory that stands in for it.
OPT_ML = Path(os.environ.get("SAGEPIPE_OPT_ML", "/opt/ml"))
PROCESSING = OPT_ML / "processing"
CONFIG_FILE = "sagepipe_data_loading.json"


class LoadError(Exception):
    """The data cannot be loaded; the message says why."""


def selected_files(input_dir: Path, include: list[str]) -> list[Path]:
    """The files under ``input_dir`` whose relative path matches a pattern, in name order."""
    if not input_dir.is_dir():
        raise LoadError(f"the input directory {input_dir} does not exist (no source input)")
    found = sorted(p for p in input_dir.rglob("*") if p.is_file())
    chosen = [
        p
        for p in found
        if any(fnmatch.fnmatchcase(p.relative_to(input_dir).as_posix(), pat) for pat in include)
    ]
    if not chosen:
        raise LoadError(
            f"no file under the source ({len(found)} file(s) in {input_dir}) matches the "
            f"include patterns {include}; fix the source URI or the patterns"
        )
    return chosen


def copy_files(input_dir: Path, files: list[Path], output_dir: Path) -> int:
    """Copy ``files`` under ``output_dir`` at their paths relative to ``input_dir``; the
    number of bytes copied."""
    total = 0
    for path in files:
        target = output_dir / path.relative_to(input_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        total += target.stat().st_size
    return total


def fail(message: str) -> int:
    print(message, file=sys.stderr)
    target = OPT_ML / "output" / "message"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(message[:1024] + "\n", encoding="utf-8")
    return 1


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", type=Path, default=PROCESSING / "input/source")
    parser.add_argument("--output-dir", type=Path, default=PROCESSING / "output/data")
    parser.add_argument("--config", type=Path, default=here / CONFIG_FILE)
    args = parser.parse_args(argv)
    try:
        config = json.loads(args.config.read_text(encoding="utf-8"))
        files = selected_files(args.input_dir, list(config["include"]))
        size = copy_files(args.input_dir, files, args.output_dir)
    except (LoadError, OSError, ValueError, KeyError) as exc:
        return fail(f"load_data: {exc}")
    print(f"load_data: copied {len(files)} file(s), {size} bytes -> {args.output_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
