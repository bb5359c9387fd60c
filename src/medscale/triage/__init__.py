"""Triage: rank studies by predicted risk, measure the workload saved at a sensitivity, and
simulate the reading queue (FIFO vs risk order vs risk order with a maximum wait)."""

from medscale.triage.predictions import read_predictions, validate_predictions
from medscale.triage.queue import Policy, QueueResult, Service, erlang_c_wait, simulate_queue
from medscale.triage.summary import default_arrivals_per_hour, triage_summary
from medscale.triage.worklist import WORKLIST_COLUMNS, rank_worklist
from medscale.triage.workload import (
    WorkloadPoint,
    check_sensitivity,
    saved_share,
    threshold_at,
    workload_curve,
    workload_reduction,
)

__all__ = [
    "WORKLIST_COLUMNS",
    "Policy",
    "QueueResult",
    "Service",
    "WorkloadPoint",
    "check_sensitivity",
    "default_arrivals_per_hour",
    "erlang_c_wait",
    "rank_worklist",
    "read_predictions",
    "saved_share",
    "simulate_queue",
    "threshold_at",
    "triage_summary",
    "validate_predictions",
    "workload_curve",
    "workload_reduction",
]
