"""A run described in YAML (`medscale run RUN.yaml`).

Example::

    manifest: cases.csv            # relative to this file
    out: runs/first                # RUN_DIR, relative to this file
    stages: [read, extract]        # any of read, preprocess, segment, extract
    config: ibsi1-c                # feature settings: a preset name, a YAML path or a mapping
    preprocess: ["gaussian:sigma_mm=1"]
    segment: {method: otsu, params: {n_bins: 64}}   # or the spec "otsu:n_bins=64"
    mask_label: 1
    workers: 2                     # or scheduler: tcp://host:8786, or dask_local: 4

The keys have the names of the command-line options (``config`` as ``--config``,
``mask_label`` as ``--mask-label``); the old spelling ``features`` (for ``config``) is still
read, with a `MedscaleDeprecationWarning`.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

from medscale.engine.driver import RunSpec
from medscale.engine.stages import StageSettings
from medscale.errors import ConfigError, warn_renamed

RENAMED = {"features": "config"}
"""Old run-file keys, still read (with a warning), and their new names."""

KEYS = (
    "manifest",
    "out",
    "stages",
    "config",
    "preprocess",
    "segment",
    "mask_label",
    "workers",
    "scheduler",
    "dask_local",
    "in_process",
    "flush_every",
)


def load_run_file(path: str | Path, **overrides: Any) -> RunSpec:
    """Read a run file into a `RunSpec`; options given in `overrides` win over the file.

    Raises
    ------
    ConfigError
        Unreadable YAML, an unknown key (the closest valid key is suggested), a missing
        ``manifest`` or ``out``.
    """
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read the run file ({err})") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not a YAML run file (undecodable byte at {err.start})") from err
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: a run file is a mapping of keys, got {type(document).__name__}")
    for old, new in RENAMED.items():
        if old in document:
            if new in document:
                raise ConfigError(f"{path}: give {new!r} or its old name {old!r}, not both")
            warn_renamed(f"the key {old!r}", repr(new), where=str(path))
            document[new] = document.pop(old)
    for key in document:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(KEYS)}"
            raise ConfigError(f"{path}: unknown key {key!r}{hint}")
    for key in ("manifest", "out"):
        if key not in document:
            raise ConfigError(f"{path}: the run file needs {key!r}")
    base = path.resolve().parent
    segment = document.get("segment") or {}
    if isinstance(segment, str):  # a spec NAME:k=v,..., as a preprocess step is written
        from medscale.params import parse_spec

        method, params = parse_spec(segment)
        segment = {"method": method, "params": params}
    if not isinstance(segment, dict):
        raise ConfigError(
            f"{path}: 'segment' is a mapping with 'method' and 'params', or a spec "
            "NAME:k=v,... (e.g. otsu:n_bins=64)"
        )
    stages = tuple(document.get("stages") or ("read", "extract"))
    config: str | dict[str, Any] = document.get("config", "default")
    if "extract" in stages:
        from medscale.features.settings import load_settings

        config = load_settings(config).to_dict()  # settings.yaml records every value
    stage_settings = StageSettings(
        stages=stages,
        config=config,
        preprocess_steps=tuple(document.get("preprocess") or ()),
        segment_method=segment.get("method"),
        segment_params=dict(segment.get("params") or {}),
        mask_label=document.get("mask_label"),
    )
    values: dict[str, Any] = {
        "manifest": str(base / document["manifest"]),
        "out_dir": str(base / document["out"]),
        "stage_settings": stage_settings,
        "workers": document.get("workers"),
        "scheduler": document.get("scheduler"),
        "dask_local": document.get("dask_local"),
        "in_process": bool(document.get("in_process", False)),
        "flush_every": int(document.get("flush_every", 32)),
    }
    values.update({key: value for key, value in overrides.items() if value is not None})
    return RunSpec(**values)
