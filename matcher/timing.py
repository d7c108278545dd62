"""Per-stage wall-clock accounting for the query path (what bench_shortlist breaks down)."""

from __future__ import annotations

import time


class Clock:
    """Adds the seconds since the last lap to ``timings[stage]``; free when timings is None."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter() if timings is not None else 0.0

    def lap(self, stage: str) -> None:
        if self.timings is not None:
            now = time.perf_counter()
            self.timings[stage] = self.timings.get(stage, 0.0) + now - self.last
            self.last = now

    def skip(self) -> None:
        """Start the next lap now: the time since the last lap was counted elsewhere."""
        if self.timings is not None:
            self.last = time.perf_counter()
