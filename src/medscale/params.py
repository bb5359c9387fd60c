"""Named operations with typed, validated parameters: the registry behind steps and methods.

A step (or a segmentation method) is a plain function ``op(image, *, param=default, ...)``.
Registering it records its keyword-only parameters, their annotated types and defaults, so
that a text spec such as ``"gaussian:sigma_mm=1.5"`` or a YAML mapping can be turned into a
validated call. Every error names the operation and the parameter.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medscale.errors import ConfigError, InputError, warn_renamed
from medscale.image import Image

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Operation:
    """A registered operation: its name, function and keyword-only parameters.

    `renamed` maps the old names of parameters, still accepted with a warning, to their names.
    `groups` maps a parameter that takes a dataclass (``priors: LeakPriors | None``) to that
    class: its fields are offered as flat `parameters` (``leak_ratio=0``, as text and YAML
    give them) and `coerce` gathers those given into one instance.
    """

    name: str
    function: Callable[..., Any]
    parameters: Mapping[str, inspect.Parameter]
    summary: str
    renamed: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, type] = field(default_factory=dict)

    def coerce(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Convert text or YAML values to the annotated parameter types.

        Raises
        ------
        ConfigError
            An unknown parameter (naming the closest known one) or a value of the wrong type.
        """
        coerced: dict[str, Any] = {}
        for key, value in values.items():
            if key in self.renamed:
                new = self.renamed[key]
                if new in values:
                    raise ConfigError(
                        f"{self.name}: give {new!r} or its old name {key!r}, not both"
                    )
                warn_renamed(f"{self.name}: parameter {key!r}", repr(new), stacklevel=4)
                key = new
            if key in self.groups:  # the dataclass itself, from Python
                group = self.groups[key]
                if not isinstance(value, group | None):
                    raise ConfigError(
                        f"{self.name}: parameter {key!r} must be a {group.__name__} (or give "
                        f"its fields as parameters), got {value!r}"
                    )
                coerced[key] = value
                continue
            if key not in self.parameters:
                close = difflib.get_close_matches(key, list(self.parameters), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                known = ", ".join(self.parameters) or "none"
                raise ConfigError(
                    f"{self.name}: unknown parameter {key!r}{hint} (parameters: {known})"
                )
            coerced[key] = _coerce(self.name, key, value, self.parameters[key].annotation)
        for key, group in self.groups.items():
            given = {f.name: coerced.pop(f.name) for f in _fields(group) if f.name in coerced}
            if given and coerced.get(key) is not None:
                raise ConfigError(
                    f"{self.name}: give {key!r} or its fields {sorted(given)}, not both"
                )
            if given:
                coerced[key] = group(**given)
        return coerced

    def __call__(self, image: Image, **params: Any) -> Any:
        return self.function(image, **self.coerce(params))


def _coerce(op: str, key: str, value: Any, annotation: Any) -> Any:
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    text = text.replace("typing.", "")
    kinds = [part.strip() for part in text.split("|")]
    if value is None or (isinstance(value, str) and value.lower() == "none"):
        if "None" in kinds:
            return None
        raise ConfigError(f"{op}: parameter {key!r} needs a value, got None")
    errors = []
    for kind in kinds:
        if kind == "None":
            continue
        try:
            return _convert(value, kind)
        except (TypeError, ValueError) as err:
            errors.append(str(err))
    raise ConfigError(f"{op}: parameter {key!r} must be {text}, got {value!r}")


def _convert(value: Any, kind: str) -> Any:
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"not a boolean: {value!r}")
    if kind == "int":
        if isinstance(value, bool):
            raise TypeError("bool is not an int")
        number = float(value)
        if not number.is_integer():
            raise ValueError(f"not an integer: {value!r}")
        return int(number)
    if kind == "float":
        if isinstance(value, bool):
            raise TypeError("bool is not a float")
        return float(value)
    if kind == "str":
        if not isinstance(value, str):
            raise TypeError("not text")
        return value
    if kind.startswith("tuple[float"):
        return tuple(float(v) for v in _items(value))
    if kind.startswith("tuple[int"):
        items = [float(v) for v in _items(value)]
        if not all(v.is_integer() for v in items):
            raise ValueError("not integers")
        return tuple(int(v) for v in items)
    raise TypeError(f"unsupported parameter type {kind}")


def _items(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [part for part in value.replace(";", ",").split(",") if part.strip()]
    if isinstance(value, int | float):
        return [value]
    return list(value)


class MissingParameterError(ConfigError):
    """A required parameter of an operation was not given.

    The message says so in Python terms; a front end (the CLI) can use `operation`,
    `parameter` and `example` (the parameter's value as text, e.g. ``"16,16,16"``) to say how
    to give it in its own syntax.
    """

    def __init__(self, operation: str, parameter: str, what: str, example: str) -> None:
        super().__init__(
            f"{operation}: parameter {parameter!r} is required ({what}, e.g. {example})"
        )
        self.operation, self.parameter, self.what, self.example = (
            operation,
            parameter,
            what,
            example,
        )


class Registry:
    """Named operations of one kind (``"step"`` or ``"method"``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._operations: dict[str, Operation] = {}

    def register(
        self,
        name: str,
        *,
        renamed: Mapping[str, str] | None = None,
        flat: Sequence[str] = (),
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: register `function` under `name` (snake_case).

        `renamed` maps old parameter names (still accepted, with a
        `MedscaleDeprecationWarning`) to the new ones; the old names are not listed.
        `flat` names keyword-only parameters annotated with a dataclass (``priors:
        LeakPriors | None``): their fields are listed instead, with the dataclass's defaults,
        and `Operation.coerce` gathers the ones given into an instance (`Operation.groups`).
        """
        renamed = dict(renamed or {})

        def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
            signature = inspect.signature(function, eval_str=True)
            keyword: dict[str, inspect.Parameter] = {}
            groups: dict[str, type] = {}
            for key, param in signature.parameters.items():
                if param.kind is not inspect.Parameter.KEYWORD_ONLY or key in renamed:
                    continue
                if key in flat:
                    groups[key] = _dataclass_in(param.annotation, f"{name}: parameter {key!r}")
                    fields = _field_parameters(groups[key])
                    if set(fields) & set(signature.parameters):
                        raise TypeError(f"{name}: a field of {key!r} is also a parameter")
                    keyword.update(fields)
                else:
                    keyword[key] = param
            if set(flat) - set(groups):
                raise TypeError(
                    f"{name}: no keyword-only parameter {sorted(set(flat) - set(groups))}"
                )
            summary = (inspect.getdoc(function) or "").splitlines()[0] if function.__doc__ else ""
            self._operations[name] = Operation(name, function, keyword, summary, renamed, groups)
            return function

        return decorate

    def get(self, name: str) -> Operation:
        """The operation called `name`; `ConfigError` naming the closest one otherwise."""
        key = name.strip().lower().replace("-", "_")
        if key not in self._operations:
            close = difflib.get_close_matches(key, list(self._operations), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"unknown {self.kind} {name!r}{hint} (known: {', '.join(sorted(self._operations))})"
            )
        return self._operations[key]

    def names(self) -> list[str]:
        return sorted(self._operations)

    def __contains__(self, name: str) -> bool:
        return name in self._operations


def _dataclass_in(annotation: Any, what: str) -> type:
    """The dataclass of an annotation ``C`` or ``C | None``."""
    for kind in (annotation, *typing.get_args(annotation)):
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            return kind
    raise TypeError(f"{what} is given flat but is not annotated with a dataclass")


def _fields(group: type) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(group)  # type: ignore[arg-type]


def _field_parameters(group: type) -> dict[str, inspect.Parameter]:
    """The fields of dataclass `group` as keyword-only parameters, with their defaults."""
    types = typing.get_type_hints(group)
    return {
        item.name: inspect.Parameter(
            item.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=item.default,
            annotation=types[item.name],
        )
        for item in _fields(group)
    }


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Split ``"name:k=v,k2=v2"`` into the name and raw text values.

    Values may themselves hold commas (``spacing_mm=2,1,1``): a comma followed by text that
    has no ``=`` continues the previous value.

    Examples
    --------
    >>> parse_spec("resample:spacing_mm=2,1,1,interpolator=linear")
    ('resample', {'spacing_mm': '2,1,1', 'interpolator': 'linear'})
    """
    name, _, rest = spec.partition(":")
    if not name.strip():
        raise ConfigError(f"empty name in spec {spec!r}; write NAME or NAME:key=value,...")
    params: dict[str, str] = {}
    last: str | None = None
    for piece in rest.split(",") if rest.strip() else []:
        if "=" in piece:
            key, _, value = piece.partition("=")
            last = key.strip()
            if not last:
                raise ConfigError(f"{name}: empty parameter name in {spec!r}")
            params[last] = value.strip()
        elif last is not None:
            params[last] += "," + piece.strip()
        else:
            raise ConfigError(f"{name}: expected key=value in {spec!r}, got {piece!r}")
    return name.strip(), params


# -- checks shared by steps and methods ---------------------------------------------------


def require(condition: bool, op: str, key: str, expectation: str, value: Any) -> None:
    """Raise `ConfigError` ``"<op>: parameter '<key>' must be <expectation>, got <value>"``."""
    if not condition:
        raise ConfigError(f"{op}: parameter {key!r} must be {expectation}, got {value!r}")


def require_finite(image: Image, op: str) -> None:
    """Raise `InputError` when a floating-point image holds NaN or infinite values."""
    array = image.array
    if not np.issubdtype(array.dtype, np.floating):
        return
    # one summing pass, no boolean volume: NaN and ±inf make the sum non-finite (an overflow
    # of a large finite sum is told apart by the exact check that follows)
    if not np.isfinite(np.add.reduce(array, axis=None)) and not np.isfinite(array).all():
        count = int(np.count_nonzero(~np.isfinite(array)))
        source = image.meta.get("source", "the image")
        raise InputError(
            f"{op}: {source} holds {count} NaN or infinite voxels; "
            "replace them first (e.g. numpy.nan_to_num)"
        )


def require_2d(image: Image, op: str) -> None:
    """Raise `InputError` when a 2-D-only operation gets a 3-D image."""
    if not image.is_2d:
        raise InputError(
            f"{op}: works on 2-D images only, got a 3-D image of shape {image.shape} (z, y, x); "
            "pass one slice (image.crop) or pick a 3-D method"
        )


def per_axis(value: float | tuple[float, ...], image: Image, op: str, key: str) -> np.ndarray:
    """A length-3 (z, y, x) array from one number or three; length 2 means (y, x) of a 2-D image."""
    values = np.atleast_1d(np.asarray(value, dtype=float))
    if values.size == 1:
        values = np.repeat(values, 3)
    elif values.size == 2 and image.is_2d:
        values = np.concatenate([[image.spacing[0]], values])
    require(values.size == 3, op, key, "one number or three (z, y, x)", value)
    return values


def float_dtype(array: np.ndarray) -> np.dtype[np.floating[Any]]:
    """float64 stays float64; every other dtype computes in float32."""
    if array.dtype == np.float64:
        return np.dtype(np.float64)
    return np.dtype(np.float32)


def new_image(image: Image, array: np.ndarray, **meta_updates: Any) -> Image:
    """`image.with_array`, except that non-boolean voxels computed from a `Mask` give an `Image`."""
    from medscale.image import Mask

    array = np.asarray(array)
    if isinstance(image, Mask) and array.dtype != bool:
        return Image(
            array.reshape(image.shape),
            image.spacing,
            image.origin,
            image.direction,
            {**image.meta, **meta_updates},
        )
    return image.with_array(array, **meta_updates)
