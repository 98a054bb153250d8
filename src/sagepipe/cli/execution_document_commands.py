"""``sagepipe execution-document PIPELINE [-o FILE]``: the template of per-step settings.

Only the standard library is imported at top level; the pipeline loads in the handler.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

PIPELINE_HELP = "a config file with a pipeline: section, or path/to/file.py:attribute"


def register(subparsers: Any) -> None:
    document = subparsers.add_parser(
        "execution-document",
        help="write the template of an execution document (per-step settings)",
        description="Write a JSON execution document for PIPELINE: one section per step with "
        "the settings an execution may change (for registration steps: approval_status, "
        "model_description, customer_metadata), filled with their current values. Edit it, "
        "then run with: sagepipe run PIPELINE --execution-document FILE.",
    )
    document.add_argument("pipeline", metavar="PIPELINE", help=PIPELINE_HELP)
    document.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write here (default: stdout)"
    )
    document.set_defaults(handler=run_execution_document)


def run_execution_document(args: argparse.Namespace) -> int:
    from sagepipe.definitions import load_pipeline
    from sagepipe.pipeline.execution_document import execution_document_template

    template = execution_document_template(load_pipeline(args.pipeline))
    text = json.dumps(template, indent=2, sort_keys=False) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}: {len(template['steps'])} step section(s)")
    return 0
