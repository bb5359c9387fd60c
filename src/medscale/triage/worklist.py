"""A worklist ranked by predicted risk (DESIGN.md columns ``rank``, ``case_id``, ``probability``,
``priority``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

WORKLIST_COLUMNS = ("rank", "case_id", "probability", "priority")


def rank_worklist(predictions: pd.DataFrame, *, threshold: float | None = None) -> pd.DataFrame:
    """Rank studies by probability, highest first.

    Parameters
    ----------
    predictions : DataFrame
        Validated predictions (`read_predictions`): ``case_id``, ``probability``, optional
        ``arrival_min`` and ``priority``.
    threshold : float, optional
        Studies with ``probability >= threshold`` get ``priority`` ``"high"``, the others
        ``"low"`` (may be deprioritised). Without a threshold every study is ``"high"``.

    Returns
    -------
    DataFrame
        ``rank`` (1 = read first), ``case_id``, ``probability``, ``priority``, then the input's
        ``label``/``arrival_min`` when present and its ``priority`` as ``requested_priority``.
        Ties in probability go to the earlier arrival, then to the case id.

    Examples
    --------
    >>> frame = pd.DataFrame({"case_id": ["a", "b", "c"], "probability": [0.2, 0.9, 0.5]})
    >>> rank_worklist(frame, threshold=0.5)["case_id"].tolist()
    ['b', 'c', 'a']
    """
    order_keys: list[np.ndarray] = [-predictions["probability"].to_numpy(dtype=float)]
    if "arrival_min" in predictions:
        order_keys.insert(0, predictions["arrival_min"].to_numpy(dtype=float))
    order_keys.insert(0, np.asarray(predictions["case_id"].astype(str), dtype=str))
    order = np.lexsort(order_keys)  # last key is primary: probability, arrival, case id
    ranked = predictions.iloc[order].reset_index(drop=True)
    probability = ranked["probability"].to_numpy(dtype=float)
    if threshold is None:
        priority = np.full(len(ranked), "high", dtype=object)
    else:
        priority = np.where(probability >= threshold, "high", "low").astype(object)
    out = pd.DataFrame(
        {
            "rank": np.arange(1, len(ranked) + 1),
            "case_id": ranked["case_id"].to_numpy(),
            "probability": probability,
            "priority": priority,
        }
    )
    for extra in ("label", "arrival_min"):
        if extra in ranked:
            out[extra] = ranked[extra].to_numpy()
    if "priority" in ranked:
        out["requested_priority"] = ranked["priority"].to_numpy()
    return out


__all__ = ["WORKLIST_COLUMNS", "rank_worklist"]
