"""Metrics as JSON: NaN (an undefined interval) becomes null, which JSON can hold."""

from __future__ import annotations

import math
from typing import Any


def json_safe(value: Any) -> Any:
    """`value` with every float NaN / infinity replaced by ``None``, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def card_record(out: str, card: Any, **extra: Any) -> dict[str, Any]:
    """What ``train --json`` prints of a saved model: its folder, task, classes and metrics
    (from its `medscale.models.ModelCard`), then `extra`; JSON-safe."""
    record = {"model": out, "task": card.task, "classes": card.classes, "metrics": card.metrics}
    return json_safe(record | extra)  # type: ignore[no-any-return]
