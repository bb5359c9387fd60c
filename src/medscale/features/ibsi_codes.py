"""The IBSI code of a feature id (as written in feature tables, with its aggregation suffix)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from medscale.features.registry import all_features


@cache
def _codes() -> dict[str, str]:
    return {info.name: info.ibsi_code for info in all_features()}


def ibsi_code(feature_id: str) -> str:
    """The four-character IBSI code of `feature_id`, e.g. ``"GYBY"`` for ``cm_joint_max_3D_avg``.

    The feature is the longest registered name that is `feature_id` itself or a prefix of it
    followed by ``_`` (the aggregation suffix). ``""`` for an unknown feature or one IBSI does
    not standardise.
    """
    codes = _codes()
    if feature_id in codes:
        return codes[feature_id]
    parts = feature_id.split("_")
    for cut in range(len(parts) - 1, 0, -1):
        name = "_".join(parts[:cut])
        if name in codes:
            return codes[name]
    return ""


def ibsi_codes(feature_ids: Iterable[str]) -> dict[str, str]:
    """`ibsi_code` of each id."""
    return {name: ibsi_code(name) for name in feature_ids}
