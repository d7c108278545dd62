"""The one way a typed result becomes JSON."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel


def as_json(model: BaseModel) -> dict[str, Any]:
    """A response model as JSON; optional blocks left unset are left out rather than null."""
    return model.model_dump(mode="json", exclude_unset=True)


def plain(value: Any) -> Any:
    """A typed result (dataclasses, tuples, datetimes, paths; NaN as null) as plain JSON values:
    for the results whose JSON is exactly their fields."""
    if isinstance(value, BaseModel):
        return as_json(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
