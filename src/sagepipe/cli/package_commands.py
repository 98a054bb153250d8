"""``sagepipe package MODEL.tar.gz --source-dir DIR --entry-point inference.py -o OUT.tar.gz``.

Only the standard library is imported at top level; the packager is imported by the handler.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    package = subparsers.add_parser(
        "package",
        help="add inference code to a model.tar.gz",
        description="Write OUT: the model files of MODEL byte for byte, plus code/ with the "
        "source dir (entry point, requirements.txt) and the dependencies. MODEL is streamed, "
        "never extracted; an old code/ is replaced; the output is checked as SageMaker "
        "expects it (model files at the top level, code under code/). A large MODEL whose "
        "model files come first is spliced: its compressed bytes are reused up to the end of "
        "the model files (when compressed at least as well as --compression-level), so only "
        "code/ is compressed.",
    )
    package.add_argument("model", metavar="MODEL.tar.gz", type=Path, help="the model archive")
    package.add_argument(
        "--source-dir", required=True, type=Path, help="directory copied into code/"
    )
    package.add_argument(
        "--entry-point",
        default="inference.py",
        help="inference script, relative to the source dir (default: inference.py)",
    )
    package.add_argument(
        "--dependency",
        dest="dependencies",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="a file or directory copied to code/<name> (repeatable)",
    )
    package.add_argument(
        "-o", "--output", required=True, type=Path, metavar="OUT.tar.gz", help="where to write"
    )
    package.add_argument(
        "--compression-level",
        type=int,
        default=6,
        choices=range(1, 10),
        metavar="N",
        help="gzip level 1-9 whose output size to match (default: 6)",
    )
    package.add_argument(
        "--threads",
        type=int,
        default=None,
        help="compression threads when MODEL is recompressed (default: one per CPU but one)",
    )
    package.set_defaults(handler=run_package)


def run_package(args: argparse.Namespace) -> int:
    from sagepipe.artifacts.package import package_model

    report = package_model(
        args.model,
        args.source_dir,
        args.entry_point,
        list(args.dependencies),
        args.output,
        compression_level=args.compression_level,
        threads=args.threads,
    )
    layout = report.layout
    print(
        f"wrote {report.output}: {len(layout.model_files)} model file(s), "
        f"{len(layout.code_files)} code file(s), {report.compressed_bytes} bytes "
        f"in {report.seconds:.2f} s"
    )
    print(f"  entry point: code/{layout.entry_point}")
    print(f"  requirements: {layout.requirements or 'none'}")
    if report.replaced_code:
        print(f"  replaced the archive's old code/ ({len(report.replaced_code)} member(s))")
    if report.spliced_bytes:
        print(f"  reused {report.spliced_bytes} compressed bytes of {args.model} as they were")
    return 0
