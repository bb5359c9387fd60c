"""De-identify a folder tree of DICOM files into another folder, in parallel, with an audit.

Outputs are named by their new UIDs, ``OUT/<study>/<series>/<instance>.dcm``, so no input
file name (which may hold a patient's name) reaches the output. The audit table
``deid_audit.csv`` has one row per input file: its SHA-256, a keyed fingerprint of its
relative path, the status, the output file, the burned-in review reasons and the counts of
actions, never an original value.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from medscale.deid.dataset import deidentify_dataset
from medscale.deid.keys import Pseudonymizer
from medscale.deid.profile import DeidSettings
from medscale.deid.reading import NotDicomError, TruncatedDicomError, read_dicom_bytes
from medscale.errors import ConfigError, InputError, WorkerLostError
from medscale.parallel import LocalExecutor

logger = logging.getLogger(__name__)

AUDIT_NAME = "deid_audit.csv"
REVIEW_FOLDER = "review"
SUMMARY_NAME = "deid_summary.json"
COUNT_COLUMNS = (
    "removed",
    "emptied",
    "dummied",
    "kept",
    "cleaned",
    "uid_replaced",
    "sequence_uids_replaced",
    "date_shifted",
    "pseudonymized",
    "private_removed",
    "private_kept",
    "overlay_curve_removed",
)
AUDIT_COLUMNS = (
    "input_sha256",
    "input_ref",
    "status",
    "output_file",
    "review",
    "message",
    *COUNT_COLUMNS,
)
#: Statuses of audit rows: de-identified, or reported and not copied.
STATUSES = ("ok", "not_dicom", "truncated", "invalid", "failed")

_DICOMDIR_CLASS = "1.2.840.10008.1.3.10"  # Media Storage Directory Storage

ProgressCallback = Callable[[int, int], None]


@dataclass
class DeidSummary:
    """Totals of one run (also written to ``deid_summary.json``).

    Attributes
    ----------
    n_files : int
        Input files seen (including those done by an earlier, resumed run).
    by_status : dict
        Files per status (`STATUSES`).
    n_review : int
        De-identified files flagged for burned-in text review.
    n_processed : int
        Files processed by this call (resume skips the rest).
    wall_s : float
        Wall time of this call, seconds.
    files_per_s : float
        ``n_processed / wall_s``.
    rows : list of dict
        This call's audit rows.
    """

    n_files: int
    by_status: dict[str, int]
    n_review: int
    n_processed: int
    wall_s: float
    files_per_s: float
    rows: list[dict[str, object]] = field(default_factory=list, repr=False)


def check_paths(in_dir: Path, out_dir: Path, *, resume: bool) -> None:
    """Refuse an output folder equal to or inside the input, or non-empty without resume.

    Raises
    ------
    InputError
        If `in_dir` is not a folder, `out_dir` is `in_dir` or inside it, or `out_dir` is not
        empty and `resume` is false.
    """
    if not in_dir.is_dir():
        raise InputError(f"{in_dir}: input folder not found")
    source, target = in_dir.resolve(), out_dir.resolve()
    if target == source or source in target.parents:
        raise InputError(
            f"{out_dir}: the output folder must not be the input folder or lie "
            f"inside it ({in_dir}); choose another folder"
        )
    if target.exists() and not target.is_dir():
        raise InputError(f"{out_dir}: output exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not resume:
        raise InputError(
            f"{out_dir}: output folder is not empty; use --resume to complete a "
            "partial run, or choose an empty folder"
        )


def deidentify_tree(
    in_dir: str | Path,
    out_dir: str | Path,
    *,
    key: bytes,
    settings: DeidSettings | None = None,
    workers: int = 1,
    resume: bool = False,
    hold_for_review: bool = False,
    progress: ProgressCallback | None = None,
) -> DeidSummary:
    """De-identify every DICOM file under `in_dir` into `out_dir`.

    Parameters
    ----------
    in_dir, out_dir : str or Path
        Input tree (read only) and output folder (created; must be empty unless `resume`).
    key : bytes
        The project secret (`medscale.deid.keys.load_key`).
    settings : DeidSettings, optional
        Profile options (default: the Basic Profile alone).
    workers : int
        Worker processes (1: in this process).
    resume : bool
        Complete a partial run: inputs already in the audit table are skipped.
    hold_for_review : bool
        Write images flagged for burned-in text (`medscale.deid.review_reasons`) under
        ``OUT/review/`` instead of the main tree, so that they cannot be shared by mistake
        before someone has looked at them.
    progress : callable, optional
        Called as ``progress(done, total)`` after each file.

    Returns
    -------
    DeidSummary

    Raises
    ------
    InputError
        Bad folders (see `check_paths`).
    ConfigError
        If `workers` < 1.
    """
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    settings = settings if settings is not None else DeidSettings()
    check_paths(in_dir, out_dir, resume=resume)
    Pseudonymizer(key)  # validates the key before any work
    out_dir.mkdir(parents=True, exist_ok=True)
    for leftover in out_dir.rglob(".*.part"):  # files a killed run was still writing
        leftover.unlink()
    audit_path = out_dir / AUDIT_NAME
    done = _done_inputs(audit_path) if resume else set()
    files = sorted(p for p in in_dir.rglob("*") if p.is_file())
    tasks = [(str(path), path.relative_to(in_dir).as_posix()) for path in files]
    start = time.perf_counter()
    rows: list[dict[str, object]] = []
    new_file = not audit_path.exists()
    with audit_path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=AUDIT_COLUMNS)
        if new_file:
            writer.writeheader()
        rows_iter = _run(tasks, key, settings, out_dir, done, workers, hold_for_review)
        for index, row in enumerate(rows_iter, 1):
            if row["status"] != "skipped":
                writer.writerow(row)
                handle.flush()
                rows.append(row)
            if progress is not None:
                progress(index, len(tasks))
    wall = time.perf_counter() - start
    summary = _summarise(audit_path, rows, wall)
    (out_dir / SUMMARY_NAME).write_text(
        json.dumps({k: v for k, v in summary.__dict__.items() if k != "rows"}, indent=2) + "\n"
    )
    return summary


def _done_inputs(audit_path: Path) -> set[str]:
    if not audit_path.is_file():
        return set()
    with audit_path.open(newline="", encoding="utf-8") as handle:
        return {row["input_sha256"] for row in csv.DictReader(handle)}


def _summarise(audit_path: Path, rows: list[dict[str, object]], wall: float) -> DeidSummary:
    with audit_path.open(newline="", encoding="utf-8") as handle:
        all_rows = list(csv.DictReader(handle))
    by_status = {status: 0 for status in STATUSES}
    for row in all_rows:
        by_status[row["status"]] = by_status.get(row["status"], 0) + 1
    n_review = sum(1 for row in all_rows if row["status"] == "ok" and row["review"])
    return DeidSummary(
        n_files=len(all_rows),
        by_status=by_status,
        n_review=n_review,
        n_processed=len(rows),
        wall_s=round(wall, 3),
        files_per_s=round(len(rows) / wall, 2) if wall > 0 else 0.0,
        rows=rows,
    )


def _run(
    tasks: list[tuple[str, str]],
    key: bytes,
    settings: DeidSettings,
    out_dir: Path,
    done: set[str],
    workers: int,
    hold: bool,
) -> Iterator[dict[str, object]]:
    if workers == 1 or len(tasks) < 2:
        _init_worker(key, settings, out_dir, done, hold)
        yield from map(_process_one, tasks)
        return
    chunksize = max(1, min(16, len(tasks) // (workers * 4)))
    pseudonymizer = Pseudonymizer(key)

    def lost(task: tuple[str, str], err: WorkerLostError) -> dict[str, object]:
        """The row of a file whose worker process kept dying under it (not copied)."""
        path, relative = task
        row: dict[str, object] = {
            "input_sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
            "input_ref": pseudonymizer.file_tag(relative),
            "status": "failed",
            "output_file": "",
            "review": "",
            "message": f"not copied: {err}",
        }
        row.update(dict.fromkeys(COUNT_COLUMNS, 0))
        return row

    executor = LocalExecutor(
        workers,
        start_method=None,
        initializer=_init_worker,
        initargs=(key, settings, out_dir, done, hold),
    )
    try:
        yield from executor.map(_process_one, tasks, lost=lost, chunksize=chunksize)
    finally:
        executor.close()


_STATE: dict[str, object] = {}


def _init_worker(
    key: bytes, settings: DeidSettings, out_dir: Path, done: set[str], hold: bool
) -> None:
    _STATE.update(
        pseudonymizer=Pseudonymizer(key), settings=settings, out_dir=out_dir, done=done, hold=hold
    )


def _process_one(task: tuple[str, str]) -> dict[str, object]:
    path, relative = task
    pseudonymizer: Pseudonymizer = _STATE["pseudonymizer"]  # type: ignore[assignment]
    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    row: dict[str, object] = {
        "input_sha256": digest,
        "input_ref": pseudonymizer.file_tag(relative),
        "status": "ok",
        "output_file": "",
        "review": "",
        "message": "",
    }
    row.update(dict.fromkeys(COUNT_COLUMNS, 0))
    if digest in _STATE["done"]:  # type: ignore[operator]
        row["status"] = "skipped"
        return row
    name = f"input {row['input_ref']}"
    try:
        dataset = read_dicom_bytes(data, name=name)
        meta = getattr(dataset, "file_meta", None) or {}
        sop_classes = {
            str(dataset.get("SOPClassUID", "")),
            str(meta.get("MediaStorageSOPClassUID", "")),
        }
        if _DICOMDIR_CLASS in sop_classes:
            row.update(status="not_dicom", message="DICOMDIR: not copied (its paths go stale)")
            return row
        if not (dataset.get("SOPClassUID") and dataset.get("SOPInstanceUID")):
            row.update(
                status="invalid",
                message="no SOP Class or SOP Instance UID: not a storable instance; not copied",
            )
            return row
        dataset, result = deidentify_dataset(
            dataset,
            pseudonymizer=pseudonymizer,
            settings=_STATE["settings"],  # type: ignore[arg-type]
            in_place=True,
        )
        held = bool(result.review) and bool(_STATE["hold"])
        row["output_file"] = _write(
            dataset,
            _STATE["out_dir"],  # type: ignore[arg-type]
            prefix=REVIEW_FOLDER if held else "",
        )
    except NotDicomError:
        row.update(status="not_dicom", message="not a DICOM file; not copied")
        return row
    except TruncatedDicomError as err:
        row.update(status="truncated", message=str(err).replace(name + ": ", ""))
        return row
    except Exception as err:  # noqa: BLE001 - one bad file must not stop the batch
        # no traceback: exception messages may quote the very values being removed
        logger.warning("de-identification failed for %s: %s", name, type(err).__name__)
        row.update(status="failed", message=f"{type(err).__name__}")
        return row
    row["review"] = ";".join(result.review)
    for column in COUNT_COLUMNS:
        row[column] = result.actions.get(column, 0)
    return row


def _write(dataset: Dataset, out_dir: Path, *, prefix: str) -> str:
    study = str(dataset.get("StudyInstanceUID", "") or "no-study")
    series = str(dataset.get("SeriesInstanceUID", "") or "no-series")
    instance = str(dataset.get("SOPInstanceUID", "") or "no-instance")
    relative = Path(prefix, study, series, f"{instance}.dcm")
    target = out_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    _complete_file_meta(dataset)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        dataset.save_as(temporary, enforce_file_format=True)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return relative.as_posix()


def _complete_file_meta(dataset: Dataset) -> None:
    """Make the data set writable as a PS3.10 file whatever its input's header lacked."""
    meta = dataset.file_meta if "file_meta" in dataset.__dict__ else FileMetaDataset()
    dataset.file_meta = meta
    implicit, little = dataset.original_encoding
    if "TransferSyntaxUID" not in meta:
        meta.TransferSyntaxUID = (
            ImplicitVRLittleEndian
            if implicit is not False
            else ExplicitVRLittleEndian
            if little is not False
            else ExplicitVRBigEndian
        )
    if not meta.get("MediaStorageSOPClassUID") and "SOPClassUID" in dataset:
        meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    if not meta.get("MediaStorageSOPInstanceUID") and "SOPInstanceUID" in dataset:
        meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    syntax = meta.TransferSyntaxUID
    if not syntax.is_transfer_syntax:
        return
    declared = (syntax.is_implicit_VR, syntax.is_little_endian)
    raw_encodings: set[tuple[bool | None, bool | None]] = set()
    for tag in dataset.keys():
        raw = dataset.get_item(tag)
        if isinstance(raw, RawDataElement):
            raw_encodings.add((raw.is_implicit_VR, raw.is_little_endian))
    if (implicit, little) != declared or raw_encodings - {declared}:
        for _ in dataset.iterall():  # the header lied about the encoding: decode every
            pass  # element so that it is written in the declared one
