"""What every benchmark prints the same way: the CPU it ran on and a repeated figure's spread."""

from __future__ import annotations

import platform
import statistics
from collections.abc import Sequence
from pathlib import Path


def cpu_model() -> str:
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def spread(values: Sequence[float], digits: int = 1) -> str:
    """min / median / max of repeated runs."""
    return f"{min(values):.{digits}f} / {statistics.median(values):.{digits}f} / {max(values):.{digits}f}"
