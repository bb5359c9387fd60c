"""One case through the chain of stages: read → preprocess → segment → extract.

`process_case` runs in a worker (a process, a Dask worker, or the driver itself). It never
raises for a bad case: it returns a `CaseResult` holding either the output row or the failure
(stage, error type, message, traceback digest), so one bad case cannot stop a batch.
"""

from __future__ import annotations

import hashlib
import logging
import time
import traceback
import warnings
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any

from medscale.errors import ConfigError, InputError, renamed_argument, warn_renamed

log = logging.getLogger(__name__)

STAGES = ("read", "preprocess", "segment", "extract")

WORKER_IMPORTS: dict[str, tuple[str, ...]] = {
    "read": ("medscale.engine.stages", "medscale.io"),
    "preprocess": ("medscale.preprocess",),
    "segment": ("medscale.segment",),
    # every feature family module: all_features imports each one that is installed
    "extract": ("medscale.features.extract", "medscale.features.registry:all_features"),
}
"""What a worker imports as it starts, per stage (``module`` or ``module:function`` to call),
so that the imports overlap the driver's start-up instead of delaying the first case."""


@dataclass(frozen=True)
class StageSettings:
    """What each stage does; part of a run's settings (pickled to the workers).

    Attributes
    ----------
    stages : tuple of str
        A subset of ``read, preprocess, segment, extract``, in that order; ``read`` is implied.
    config : str or dict
        Feature settings: a preset name or a settings dict (see `medscale.features`); the
        deprecated keyword ``features=`` is accepted for it.
    preprocess_steps : tuple of str
        Step specs such as ``"gaussian:sigma_mm=1"``, used by ``preprocess``.
    segment_method : str or None
        Segmentation method name, used by ``segment`` (the mask column is then optional).
    segment_params : dict
        Parameters of the segmentation method.
    mask_label : int or None
        Label value picked from label-map masks; None means every non-zero voxel.
    output_dir : str
        Folder of the run; images or masks made by the last stage are written under it.
    """

    stages: tuple[str, ...] = ("read", "extract")
    config: str | dict[str, Any] = "default"
    preprocess_steps: tuple[str, ...] = ()
    segment_method: str | None = None
    segment_params: dict[str, Any] = field(default_factory=dict)
    mask_label: int | None = None
    output_dir: str = "."
    features: InitVar[str | dict[str, Any] | None] = None

    def __post_init__(self, features: str | dict[str, Any] | None) -> None:
        config = renamed_argument(
            self.config, features, "default", names=("features", "config"), where="StageSettings"
        )
        object.__setattr__(self, "config", config)
        unknown = [stage for stage in self.stages if stage not in STAGES]
        if unknown:
            raise ConfigError(f"unknown stage(s) {unknown}; stages are {list(STAGES)}")
        ordered = tuple(stage for stage in STAGES if stage in self.stages or stage == "read")
        object.__setattr__(self, "stages", ordered)
        if "segment" in ordered and not self.segment_method:
            raise ConfigError("the segment stage needs a method (e.g. segment_method: otsu)")
        if "preprocess" in ordered and not self.preprocess_steps:
            raise ConfigError("the preprocess stage needs at least one step")

    @property
    def worker_imports(self) -> tuple[str, ...]:
        """The `WORKER_IMPORTS` of these stages, each once, in stage order."""
        return tuple(dict.fromkeys(name for s in self.stages for name in WORKER_IMPORTS[s]))


def _old_features(self: StageSettings) -> str | dict[str, Any]:
    warn_renamed("StageSettings.features", "StageSettings.config")
    return self.config


# the old attribute name reads `config` (with a MedscaleDeprecationWarning), not the InitVar
StageSettings.features = property(_old_features)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CaseResult:
    """What a worker sends back for one case: a row, or a failure, never both.

    The row holds the case's manifest columns followed by what the stages produced.
    """

    case_id: str
    row: dict[str, Any] | None
    failure: dict[str, Any] | None
    seconds: float
    warnings: tuple[str, ...] = ()


def process_case(case: dict[str, Any], settings: StageSettings) -> CaseResult:
    """Run the stages on one manifest row; never raises for a bad case."""
    case_id = str(case["case_id"])
    start = time.perf_counter()
    stage = "read"
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # e.g. features undefined for this ROI (NaN)
            image, mask = _read(case, settings.mask_label)
            row: dict[str, Any] = dict(case)  # manifest columns are carried to the output
            if "preprocess" in settings.stages:
                stage = "preprocess"
                image = _preprocess(image, settings.preprocess_steps)
            if "segment" in settings.stages:
                stage = "segment"
                mask = _segment(image, settings, case)
            last = settings.stages[-1]
            if last == "extract":
                stage = "extract"
                if mask is None:
                    raise InputError("no mask: give a mask column or a segment stage")
                row.update(_extract(image, mask, settings.config))
            else:
                row.update(_write_outputs(case_id, image, mask, last, settings.output_dir))
    except Exception as err:  # noqa: BLE001 - every failure of a case is recorded, not raised
        failure = _failure(case_id, stage, err)
        return CaseResult(case_id, None, failure, time.perf_counter() - start, _messages(caught))
    return CaseResult(case_id, row, None, time.perf_counter() - start, _messages(caught))


def _messages(caught: list[warnings.WarningMessage]) -> tuple[str, ...]:
    """The distinct warning messages of a case, in order (they go to the run's log)."""
    return tuple(dict.fromkeys(str(warning.message) for warning in caught))


def _failure(case_id: str, stage: str, err: BaseException) -> dict[str, Any]:
    trace = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    message = str(err).strip() or type(err).__name__
    return {
        "case_id": case_id,
        "stage": stage,
        "error_type": type(err).__name__,
        "message": f"case {case_id}: {message}",
        "traceback_digest": hashlib.sha1(trace.encode()).hexdigest()[:12],
        "traceback": trace[-4000:],
    }


def _read(case: dict[str, Any], default_label: int | None) -> tuple[Any, Any]:
    from medscale.io import read_case

    return read_case(case, default_label=default_label)


def _preprocess(image: Any, steps: tuple[str, ...]) -> Any:
    from medscale.preprocess import apply_steps

    return apply_steps(image, steps)


def _segment(image: Any, settings: StageSettings, case: dict[str, Any]) -> Any:
    """The segment stage; a case's own `seed` / `box` manifest columns ("Z,Y,X" and
    "Z0,Y0,X0,Z1,Y1,X1", voxel indices) override the run's, so a seeded method can run over a
    cohort."""
    from medscale.segment import segment

    method = str(settings.segment_method)  # StageSettings made sure there is one
    params = dict(settings.segment_params)
    for key in PER_CASE_SEGMENT_COLUMNS:
        value = case.get(key)
        if isinstance(value, str) and value.strip():
            params[key] = value
        elif isinstance(value, list | tuple) and len(value):
            params[key] = [int(v) for v in value]
    return segment(image, method, **params)


PER_CASE_SEGMENT_COLUMNS = ("seed", "box")
"""Manifest columns that give the segment stage per-case parameters (empty: the run's)."""


def _extract(image: Any, mask: Any, config: str | dict[str, Any]) -> dict[str, float]:
    from medscale.features import extract

    return extract(image, mask, config or "default")


def _write_outputs(
    case_id: str, image: Any, mask: Any, last: str, output_dir: str
) -> dict[str, Any]:
    """Without an extract stage the run's product is an image or a mask file per case."""
    from medscale.io import write_image

    safe_id = "".join(c if c.isalnum() or c in "-_." else "_" for c in case_id)
    if last == "segment":
        path = write_image(mask.astype("uint8"), Path(output_dir, "masks", f"{safe_id}.nii.gz"))
        return {
            "mask_out": str(path),
            "mask_volume_ml": mask.voxel_count * mask.voxel_volume_mm3 / 1000,
        }
    path = write_image(image, Path(output_dir, "images", f"{safe_id}.nii.gz"))
    return {"image_out": str(path)}
