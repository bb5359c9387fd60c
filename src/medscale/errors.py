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


class ModelError(MedscaleError, ValueError):
    """A model cannot be trained, loaded or applied: bad target, too few cases per class,
    a table lacking the model's features, a model folder from an incompatible version."""
