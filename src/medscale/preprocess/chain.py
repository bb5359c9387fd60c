"""Chains of preprocessing steps, from ``"name:k=v,..."`` specs or YAML.

Examples
--------
>>> import numpy as np
>>> from medscale import Image
>>> chain = Chain.from_specs(["gaussian:sigma_mm=1", "window:preset=lung"])
>>> chain.names
['gaussian', 'window']
>>> out = chain(Image(np.full((4, 8, 8), 500, dtype=np.int16)))
>>> float(out.array.max())  # the lung window is -1350 .. 150 HU
150.0
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medscale.errors import ConfigError, MedscaleError, warn_renamed
from medscale.image import Image
from medscale.params import Registry, parse_spec

log = logging.getLogger(__name__)

#: Every preprocessing step by name; filled by the step modules on import.
STEPS = Registry("preprocessing step")


@dataclass(frozen=True)
class StepCall:
    """One step of a chain: the step name and its coerced parameters."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, image: Image) -> Image:
        return STEPS.get(self.name).function(image, **self.params)


@dataclass(frozen=True)
class Chain:
    """An ordered list of steps applied one after another; every step keeps the geometry."""

    steps: tuple[StepCall, ...]

    @property
    def names(self) -> list[str]:
        return [step.name for step in self.steps]

    @classmethod
    def from_specs(cls, specs: Iterable[str]) -> Chain:
        """Build from command-line specs ``"name"`` or ``"name:key=value,key=value"``.

        Raises
        ------
        ConfigError
            Unknown step or parameter, or a value that is not of the parameter's type.
        """
        calls = []
        for spec in specs:
            name, raw = parse_spec(spec)
            calls.append(_make_call(name, raw))
        return cls(tuple(calls))

    @classmethod
    def from_steps(cls, steps: Sequence[Any] | Mapping[str, Any]) -> Chain:
        """Build from a parsed YAML: a list of ``{name: {k: v}}``, ``{step: name, k: v}`` or specs.

        A mapping with a ``steps`` key holding such a list is accepted too.
        """
        if isinstance(steps, Mapping):
            unknown = set(steps) - {"steps"}
            if unknown:
                raise ConfigError(
                    f"preprocessing steps: unknown key(s) {sorted(unknown)}; expected 'steps'"
                )
            steps = steps.get("steps") or []
        if isinstance(steps, str) or not isinstance(steps, Sequence):
            raise ConfigError("preprocessing steps must be a list of steps")
        calls = []
        for position, entry in enumerate(steps, start=1):
            if isinstance(entry, str):
                name, raw = parse_spec(entry)
                calls.append(_make_call(name, raw))
            elif isinstance(entry, Mapping) and "step" in entry:
                params = {k: v for k, v in entry.items() if k != "step"}
                calls.append(_make_call(str(entry["step"]), params))
            elif isinstance(entry, Mapping) and len(entry) == 1:
                ((name, params),) = entry.items()
                if params is not None and not isinstance(params, Mapping):
                    raise ConfigError(f"step {position} ({name}): parameters must be a mapping")
                calls.append(_make_call(str(name), params or {}))
            else:
                raise ConfigError(
                    f"step {position}: expected 'name:k=v', {{name: {{k: v}}}} "
                    f"or {{step: name, k: v}}, got {entry!r}"
                )
        return cls(tuple(calls))

    @classmethod
    def from_config(cls, config: Sequence[Any] | Mapping[str, Any]) -> Chain:
        """Deprecated spelling of `from_steps` (``config`` names the feature settings)."""
        warn_renamed("Chain.from_config", "Chain.from_steps")
        return cls.from_steps(config)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Chain:
        """Build from a YAML file of steps (see `from_steps`)."""
        import yaml

        path = Path(path)
        try:
            steps = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"{path}: cannot read the preprocessing YAML ({err})") from err
        try:
            return cls.from_steps(steps or [])
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from err

    def __call__(self, image: Image) -> Image:
        for position, step in enumerate(self.steps, start=1):
            log.debug("step %d/%d: %s %s", position, len(self.steps), step.name, dict(step.params))
            try:
                image = step(image)
            except MedscaleError:
                raise
            except (ValueError, RuntimeError) as err:  # a library refused the input
                raise ConfigError(f"step {position} ({step.name}) failed: {err}") from err
        return image


def _make_call(name: str, raw: Mapping[str, Any]) -> StepCall:
    operation = STEPS.get(name)
    return StepCall(operation.name, operation.coerce(raw))


def apply_steps(image: Image, specs: Iterable[str]) -> Image:
    """Apply ``"name:k=v"`` specs to `image` in order (shorthand for `Chain.from_specs`)."""
    return Chain.from_specs(specs)(image)
