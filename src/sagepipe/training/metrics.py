"""Metric capture: each log line is searched with every definition's regex, as SageMaker does."""

from __future__ import annotations

import re
import time

from sagepipe.training.spec import MetricPoint


class MetricCollector:
    """Collects :class:`MetricPoint` values from log lines."""

    def __init__(self, definitions: list[dict[str, str]]) -> None:
        self._definitions = [(d["Name"], re.compile(d["Regex"])) for d in definitions]
        self._counts: dict[str, int] = {name: 0 for name, _ in self._definitions}
        self.points: list[MetricPoint] = []

    def feed(self, line: str) -> None:
        for name, pattern in self._definitions:
            match = pattern.search(line)
            if match is None:
                continue
            try:
                value = float(match.group(1))
            except (TypeError, ValueError):
                continue  # the group captured text that is not a number
            self.points.append(
                MetricPoint(name=name, value=value, timestamp=time.time(), index=self._counts[name])
            )
            self._counts[name] += 1

    @property
    def unmatched(self) -> list[str]:
        """Names of the definitions that never produced a value."""
        return [name for name, count in self._counts.items() if count == 0]
