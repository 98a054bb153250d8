"""Metric capture from the log by regex, and the never-matched list."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sagepipe.training import TrainingJobSpec
from sagepipe.training.metrics import MetricCollector

from .helpers import RunJob, WriteSource

DEFINITIONS = [
    {"Name": "train:loss", "Regex": r"Train Loss: ([-+]?[0-9]*\.?[0-9]+)"},
    {"Name": "val:f1", "Regex": r"Validation F1 Score: ([0-9.]+)"},
    {"Name": "val:auc", "Regex": r"Validation AUC ROC: ([0-9.]+)"},
]


def test_metrics_are_captured_in_order(write_source: WriteSource, run_job: RunJob) -> None:
    source = write_source(
        {
            "train.py": """
            import sys
            for epoch, (loss, f1) in enumerate([(0.9, 0.5), (0.4, 0.75)]):
                print(f"epoch {epoch} Train Loss: {loss}")
                print(f"Validation F1 Score: {f1}", file=sys.stderr)
            """
        }
    )
    result, lines = run_job(source, metric_definitions=DEFINITIONS)
    assert result.exit_code == 0, result.failure_reason
    assert [(p.name, p.value, p.index) for p in result.metrics] == [
        ("train:loss", 0.9, 0),
        ("val:f1", 0.5, 0),
        ("train:loss", 0.4, 1),
        ("val:f1", 0.75, 1),
    ]
    assert all(p.timestamp > 0 for p in result.metrics)
    assert result.unmatched_metrics == ["val:auc"]
    assert not any("warning" in line for line in lines)  # warning is the caller's to give


def test_collector_skips_non_numbers() -> None:
    collector = MetricCollector([{"Name": "x", "Regex": r"x=(\S+)"}])
    collector.feed("x=abc")
    collector.feed("x=1e-3")
    assert [(p.value, p.index) for p in collector.points] == [(0.001, 0)]
    assert collector.unmatched == []


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"Name": "a", "Regex": "loss ([0-9"}, "does not compile"),
        ({"Name": "a", "Regex": "loss [0-9]+"}, "capture group"),
        ({"Name": "a"}, "exactly the keys Name and Regex"),
    ],
)
def test_bad_definitions_are_rejected(definition: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TrainingJobSpec(
            job_name="j",
            source_dir=".",  # type: ignore[arg-type]
            entry_point="t.py",
            metric_definitions=[definition],
        )
