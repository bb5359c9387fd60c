"""What `medscale triage --json` prints: the workload saved at a sensitivity and the queue.

`triage_summary` is the one place that computes it, so that the CLI and the demo
(``RUN_DIR/triage.json``) write the same object.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from medscale.triage.queue import simulate_queue
from medscale.triage.workload import workload_reduction


def default_arrivals_per_hour(readers: int, minutes_per_study: float) -> float:
    """80 % of the readers' capacity: ``0.8 * readers * 60 / minutes_per_study``."""
    return 0.8 * readers * 60.0 / minutes_per_study


def triage_summary(
    frame: pd.DataFrame,
    *,
    source: str,
    sensitivity: float = 0.95,
    readers: int = 2,
    minutes_per_study: float = 6.0,
    max_wait_min: float = 240.0,
    arrivals_per_hour: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The triage summary of validated predictions (`medscale.triage.validate_predictions`).

    Returns
    -------
    dict
        ``predictions`` (`source`), ``n_studies``, ``workload`` (`WorkloadPoint.as_dict`, or
        None without positive labels, then ``missing`` says why) and ``queue`` (the simulation
        settings and one `QueueResult.as_dict` per policy). The caller adds ``worklist``.

    Notes
    -----
    With an ``arrival_min`` column (from ``arrival_time``) the queue reads each study once at
    its own arrival time (``queue.arrivals == "predictions"``, ``arrivals_per_hour`` the
    observed mean rate, `arrivals_per_hour` unused); otherwise arrivals are Poisson at
    `arrivals_per_hour` (default `default_arrivals_per_hour`) over 20 000 studies drawn from
    the predictions (``"poisson"``).
    """
    summary: dict[str, Any] = {"predictions": source, "n_studies": len(frame)}
    if "label" not in frame or not frame["label"].any():
        summary["workload"] = None
        summary["missing"] = f"{source}: no 'label' column with positives; workload not computed"
        return summary
    point = workload_reduction(
        frame["probability"].to_numpy(),
        frame["label"].to_numpy(),
        sensitivity=sensitivity,
        seed=seed,
    )
    summary["workload"] = point.as_dict()
    probability, label = frame["probability"].to_numpy(), frame["label"].to_numpy()
    if "arrival_min" in frame and len(frame) > 1:
        arrival = frame["arrival_min"].to_numpy(dtype=float)
        span = float(arrival.max() - arrival.min())
        rate = (len(frame) - 1) * 60.0 / span if span > 0 else float("inf")
        arrivals = "predictions"
        queue = simulate_queue(
            probability,
            label,
            arrival_min=arrival,
            readers=readers,
            minutes_per_study=minutes_per_study,
            max_wait_min=max_wait_min,
            seed=seed,
        )
    else:
        rate = arrivals_per_hour or default_arrivals_per_hour(readers, minutes_per_study)
        arrivals = "poisson"
        queue = simulate_queue(
            probability,
            label,
            arrivals_per_hour=rate,
            readers=readers,
            minutes_per_study=minutes_per_study,
            max_wait_min=max_wait_min,
            n_studies=max(20_000, len(frame)),
            seed=seed,
        )
    summary["queue"] = {
        "arrivals": arrivals,
        "arrivals_per_hour": rate,
        "readers": readers,
        "minutes_per_study": minutes_per_study,
        "max_wait_min": max_wait_min,
        "policies": {name: result.as_dict() for name, result in queue.items()},
    }
    return summary


__all__ = ["default_arrivals_per_hour", "triage_summary"]
