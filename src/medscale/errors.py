"""The one exception tree of medscale.

Every error says what went wrong, for which case or file, and, where there is one, the fix::

    MedscaleError
    ├── InputError          bad data handed to medscale
    │   ├── DicomError      unreadable or inconsistent DICOM
    │   ├── GeometryError   grids that do not match, missing slices, uneven spacing
    │   ├── MaskError       empty mask, mask off the image, wrong dtype
    │   └── DownloadError   a public data file that cannot be downloaded or fails its SHA-256
    ├── ConfigError         unknown key, out-of-range parameter, unknown preset
    ├── PacsError           a PACS that refuses or cannot be reached
    ├── ModelError          a target, table or model folder that a model cannot use
    └── WorkerLostError     an item whose worker process kept dying (the executors' retries spent)
"""

from __future__ import annotations

from typing import Any


class MedscaleError(Exception):
    """Base class of every error medscale raises on purpose."""


class InputError(MedscaleError, ValueError):
    """The data handed to medscale cannot be used as it is."""


class DicomError(InputError):
    """A DICOM file or series is unreadable or inconsistent."""


class GeometryError(InputError):
    """Image grids disagree, or a series has missing or unevenly spaced slices."""


class MaskError(InputError):
    """A mask is empty, lies outside its image, or is not on the image grid."""


class DownloadError(InputError):
    """A public data file cannot be downloaded, or its bytes fail the registry's SHA-256."""


class ConfigError(MedscaleError, ValueError):
    """A setting or parameter is unknown or out of range."""


class PacsError(MedscaleError):
    """A PACS could not be reached or refused a request."""


class WorkerLostError(MedscaleError):
    """An item of a parallel map was lost with its worker more times than the executor retries.

    Its ``__cause__`` is the executor's own error (``BrokenProcessPool``, Dask's
    ``KilledWorker`` or ``FutureCancelledError``).
    """


class MedscaleWarning(UserWarning):
    """Base class of medscale's warnings (undefined features, repaired input)."""


class MedscaleDeprecationWarning(MedscaleWarning, FutureWarning):
    """An old spelling (a CLI option, a YAML key, a keyword argument) that still works but has a
    new name. A `FutureWarning`, not a `DeprecationWarning`, so that it is shown by default to
    the users of the command line and of run files, whose spelling it is."""


def warn_renamed(old: str, new: str, *, where: str = "", stacklevel: int = 3) -> None:
    """Warn that `old` is the deprecated spelling of `new` (`MedscaleDeprecationWarning`).

    `where` names the place (a run file, a function) and starts the message when given.
    """
    import warnings

    place = f"{where}: " if where else ""
    warnings.warn(
        f"{place}{old} is deprecated and will be removed; use {new}",
        MedscaleDeprecationWarning,
        stacklevel=stacklevel,
    )


class ModelError(MedscaleError, ValueError):
    """A model cannot be trained, loaded or applied: bad target, too few cases per class,
    a table lacking the model's features, a model folder from an incompatible version."""


def renamed_argument(
    new: Any, old: Any, default: Any, *, names: tuple[str, str], where: str
) -> Any:
    """The value of a keyword argument that has a new name: `new`, or `old` (with a
    `MedscaleDeprecationWarning`) when the caller used the old name (`old` is not None).

    `names` is (old name, new name); `where` the function. Giving both is a `ConfigError`.
    """
    if old is None:
        return new
    if new is not default and new != default:
        raise ConfigError(f"{where}: give {names[1]}= or its old name {names[0]}=, not both")
    warn_renamed(f"{where}({names[0]}=...)", f"{names[1]}=", stacklevel=4)
    return old
