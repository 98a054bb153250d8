"""``training_job_analytics``: the metrics captured from a job's log."""

from __future__ import annotations

from typing import Any


class TrainingJobAnalytics:
    """Metric points of a job, as the SDK's ``TrainingJobAnalytics``.

    Args:
        points: ``{"name", "value", "timestamp", "index"}`` dicts in log order.
    """

    def __init__(self, points: list[dict[str, Any]]) -> None:
        self._points = points

    def records(self) -> list[dict[str, Any]]:
        """``{"timestamp", "metric_name", "value"}`` per point, in log order."""
        return [
            {"timestamp": p["timestamp"], "metric_name": p["name"], "value": p["value"]}
            for p in self._points
        ]

    def dataframe(self, force_refresh: bool = False) -> Any:
        """A pandas DataFrame of :meth:`records` if pandas is installed, else the records."""
        import importlib
        import importlib.util

        if importlib.util.find_spec("pandas") is None:
            return self.records()
        pandas: Any = importlib.import_module("pandas")  # optional; not a dependency
        return pandas.DataFrame(self.records(), columns=["timestamp", "metric_name", "value"])
