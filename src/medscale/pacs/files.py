"""Files on our side: atomic instance writes, resumable layout, collecting files to send."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from medscale.errors import InputError, PacsError
from medscale.io.formats import is_dicom

log = logging.getLogger(__name__)
T = TypeVar("T")


def instance_path(out: str | Path, study_uid: str, sop_uid: str) -> Path:
    """Where retrieval puts one instance: ``OUT/<StudyInstanceUID>/<SOPInstanceUID>.dcm``."""
    return Path(out) / str(study_uid) / f"{sop_uid}.dcm"


@dataclass(frozen=True)
class Rewrite:
    """Change each retrieved instance in memory before it is written (e.g. de-identify it).

    Attributes
    ----------
    dataset : callable
        Retrieved pydicom data set -> the data set to write (with its ``file_meta``).
    uid : callable
        Original UID -> the UID it gets in the written file. Must be deterministic, so that
        the file an instance will be written to is known before retrieving it (resume).
    """

    dataset: Callable[[Any], Any]
    uid: Callable[[str], str]


def target_path(out: str | Path, study_uid: str, sop_uid: str, rewrite: Rewrite | None) -> Path:
    """Where an instance ends up, after `rewrite` renamed its study and instance UIDs."""
    if rewrite is None:
        return instance_path(out, study_uid, sop_uid)
    return instance_path(out, rewrite.uid(study_uid), rewrite.uid(sop_uid))


def store_retrieved(
    dataset: Any, out: str | Path, study_uid: str, rewrite: Rewrite | None
) -> Path | None:
    """Rewrite (in memory) then `write_instance`; nothing unrewritten ever reaches `out`."""
    if rewrite is None:
        return write_instance(dataset, out, study_uid)
    return write_instance(rewrite.dataset(dataset), out)


def write_instance(dataset: Any, out: str | Path, study_uid: str | None = None) -> Path | None:
    """Write one retrieved dataset atomically; return its path, or None if it was already there.

    The file is written under a hidden temporary name in its final folder and renamed with
    `os.replace`, so a reader never sees a half-written ``.dcm``. A folder made for it is
    removed again when the write fails and leaves it empty.
    """
    study = str(study_uid or dataset.StudyInstanceUID)
    path = instance_path(out, study, str(dataset.SOPInstanceUID))
    if path.exists():
        return None
    made = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=".dcm", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            dataset.save_as(handle, enforce_file_format=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        if made:
            remove_if_empty(path.parent)
        raise
    return path


def remove_if_empty(folder: Path) -> None:
    """Remove `folder` if it exists and is empty (a failed retrieval leaves no trace)."""
    try:
        folder.rmdir()
    except OSError:
        pass


def with_retries(
    call: Callable[[], T],
    *,
    what: str,
    retries: int,
    backoff: float,
    transient: Callable[[BaseException], bool],
    explain: Callable[[BaseException], str],
) -> T:
    """Run `call`; on a transient error wait backoff, 2*backoff, ... up to `retries` times.

    A non-transient error, or the last transient one, becomes ``PacsError("<what>: <why>")``.
    """
    attempt = 0
    while True:
        try:
            return call()
        except PacsError:
            raise
        except Exception as err:  # noqa: BLE001 - sorted into transient / final below
            if transient(err) and attempt < retries:
                wait = backoff * 2**attempt
                attempt += 1
                log.info("%s failed (%s); retry %d/%d in %.1fs", what, err, attempt, retries, wait)
                time.sleep(wait)
                continue
            tried = f" (after {attempt + 1} attempts)" if attempt else ""
            raise PacsError(f"{what}: {explain(err)}{tried}") from err


def collect_dicom_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files to send: each file given, and every file below each folder (recursively).

    Files under a folder that are not DICOM (no ``DICM`` preamble) are skipped; a file named
    explicitly must be DICOM.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                if is_dicom(file):
                    found.append(file)
                else:
                    log.debug("skipping %s: not a DICOM file", file)
        elif path.is_file():
            if not is_dicom(path):
                raise InputError(f"{path}: not a DICOM file (no DICM preamble)")
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return found
