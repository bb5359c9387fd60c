"""`medscale pacs`: find, get and put studies on a PACS; echo it.

Endpoints and credentials come from the environment (MEDSCALE_PACS_URL, _USER, _PASSWORD,
_HOST, _PORT, _AET, MEDSCALE_AET, MEDSCALE_AET_PORT), never from the command line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import click

from medscale.cli import options

_PROTOCOL = click.option(
    "--protocol",
    type=click.Choice(["dicomweb", "dimse"]),
    default="dicomweb",
    show_default=True,
    help="DICOMweb (QIDO/WADO/STOW-RS) or DIMSE (C-FIND/C-GET/C-STORE; C-MOVE with get --move).",
)


def _client(protocol: str) -> Any:
    from medscale.pacs import DicomWebClient, DimseClient, PacsConfig

    config = PacsConfig.from_env()
    return DicomWebClient(config) if protocol == "dicomweb" else DimseClient(config)


@click.group(epilog="Example: medscale pacs find --modality CT --json")
def command() -> None:
    """Find, get and put studies on the PACS named by MEDSCALE_PACS_* (see DESIGN.md)."""
    import logging

    if logging.getLogger().level > logging.DEBUG:  # pynetdicom logs each refusal at ERROR
        logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)


@command.command("echo", epilog="Example: medscale pacs echo --protocol dimse")
@_PROTOCOL
def echo(protocol: str) -> None:
    """Check that the PACS answers (C-ECHO, or a QIDO-RS search with --protocol dicomweb)."""
    _client(protocol).echo()
    click.echo("ok")


@command.command(
    "find", epilog="Example: medscale pacs find --modality CT --study-date 20240101-20240131 --json"
)
@click.option("--patient-id", help="Match this PatientID.")
@click.option("--modality", help="Studies holding this modality (CT, MR, ...).")
@click.option("--study-date", help="YYYYMMDD or a range YYYYMMDD-YYYYMMDD.")
@_PROTOCOL
@options.json_output
def find(
    patient_id: str | None,
    modality: str | None,
    study_date: str | None,
    protocol: str,
    as_json: bool,
) -> None:
    """List studies matching the keys (all studies without any)."""
    from medscale.pacs import StudyQuery

    query = StudyQuery(patient_id=patient_id, modality=modality, study_date=study_date)
    studies = _client(protocol).find_studies(query)
    if as_json:
        click.echo(json.dumps(studies, indent=2))
        return
    for study in studies:
        click.echo(
            f"{study['StudyInstanceUID']}  {study['PatientID'] or '-'}  "
            f"{study['StudyDate'] or '-'}  {'/'.join(study['ModalitiesInStudy']) or '-'}  "
            f"{study['NumberOfStudyRelatedInstances'] or 0} instances"
        )
    click.echo(f"{len(studies)} studies", err=True)


@command.command(
    "get", epilog="Example: medscale pacs get 1.2.840.113619.2.1 --out studies/ --protocol dimse"
)
@click.argument("study_uids", nargs=-1, required=True, metavar="STUDY_UID...")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder; instances go to OUT/<StudyInstanceUID>/<SOPInstanceUID>.dcm.",
)
@_PROTOCOL
@click.option(
    "--deid",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="De-identify on the way in with this project key (`medscale deid keygen`, PS3.15 "
    "Basic Profile, as `medscale deid`): files are named by their new UIDs, "
    "OUT/<new study UID>/<new SOP Instance UID>.dcm.",
)
@click.option(
    "--move",
    is_flag=True,
    help="With --protocol dimse: retrieve by C-MOVE instead of C-GET. medscale runs its own "
    "Storage SCP as MEDSCALE_AET on 127.0.0.1:MEDSCALE_AET_PORT (required) for the call; the "
    "PACS must know that AE title and address as a modality.",
)
def get(
    study_uids: tuple[str, ...], out: Path, protocol: str, key_file: Path | None, move: bool
) -> None:
    """Retrieve studies; instances already in OUT are skipped (resumable).

    DIMSE retrieves by C-GET, or by C-MOVE to our own short-lived Storage SCP with --move.

    With --deid, each instance is de-identified in memory before it is written, so no
    identified file ever reaches OUT; the new UIDs are derived from the key, so a rerun with
    the same key skips the instances already there.
    """
    if move and protocol != "dimse":
        raise click.UsageError("--move needs --protocol dimse (C-MOVE is a DIMSE service)")
    rewrite = _deid_rewrite(key_file) if key_file is not None else None
    client = _client(protocol)
    retrieve = client.move_study if move else client.get_study
    out_existed = out.exists()
    total_written = total_skipped = 0
    for uid in study_uids:
        folder = out / (rewrite.uid(uid) if rewrite is not None else uid)
        fresh = not folder.exists()
        try:
            written, skipped = retrieve(uid, out, rewrite=rewrite)
        except BaseException:
            if fresh:  # a failed first retrieval leaves no folder behind
                shutil.rmtree(folder, ignore_errors=True)
                if not out_existed:
                    _remove_empty(out)
            raise
        total_written += written
        total_skipped += skipped
        click.echo(f"{uid}: {written} instances written, {skipped} already present", err=True)
    click.echo(f"{total_written} written, {total_skipped} already present in {out}")


@command.command("put", epilog="Example: medscale pacs put dicom/ seg.dcm")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@_PROTOCOL
def put(paths: tuple[Path, ...], protocol: str) -> None:
    """Store DICOM files on the PACS (folders are searched recursively)."""
    from medscale.pacs import collect_dicom_files

    files = collect_dicom_files(paths)
    stored = _client(protocol).put(files) if files else 0
    click.echo(f"{stored} instances stored")


def _deid_rewrite(key_file: Path) -> Any:
    """The `medscale.pacs.Rewrite` that de-identifies with `medscale deid`'s defaults."""
    from medscale.deid import Pseudonymizer, deidentify_dataset, load_key
    from medscale.pacs import Rewrite

    pseudonymizer = Pseudonymizer(load_key(key_file))

    def deidentify(dataset: Any) -> Any:
        cleaned, _ = deidentify_dataset(dataset, pseudonymizer=pseudonymizer, in_place=True)
        return cleaned

    return Rewrite(dataset=deidentify, uid=pseudonymizer.uid)


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
