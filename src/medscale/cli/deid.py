"""`medscale deid`: de-identify DICOM folders, verify them, make keys.

``medscale deid IN_DIR OUT_DIR --key KEYFILE`` is short for ``medscale deid run ...``.
"""

from __future__ import annotations

import json
import sys

import click

from medscale.cli import options
from medscale.cli.options import resolve_workers

_OPTION_NAMES = (
    "retain-safe-private",
    "retain-uids",
    "retain-device-identity",
    "retain-institution-identity",
    "retain-patient-characteristics",
    "retain-full-dates",
    "retain-modified-dates",
    "clean-descriptors",
)


class _DefaultRunGroup(click.Group):
    """A group whose first argument, when it is not a subcommand, starts ``run``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(
    cls=_DefaultRunGroup, epilog="Example: medscale deid dicom/ deid-out/ --key project.key"
)
def command() -> None:
    """De-identify DICOM files (PS3.15 Basic Profile, keyed pseudonyms); verify; make keys.

    IN_DIR OUT_DIR --key KEYFILE without a subcommand runs `run`.
    """


def _parse_safe_private(values: tuple[str, ...]) -> frozenset[tuple[str, int]]:
    pairs = set()
    for value in values:
        creator, sep, element = value.rpartition(":")
        try:
            number = int(element, 16)
        except ValueError:
            number = -1
        if not sep or not creator or not 0 <= number <= 0xFF:
            raise click.BadParameter(
                f"{value!r}: expected CREATOR:EE, e.g. 'ACME 1.0:10'", param_hint="--safe-private"
            )
        pairs.add((creator, number))
    return frozenset(pairs)


@command.command(
    "run",
    epilog="Example: medscale deid run dicom/ deid-out/ --key project.key "
    "--option retain-modified-dates",
)
@click.argument("in_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False))
@options.file_option(
    "--key", "key_file", required=True, help="Project key file (`medscale deid keygen KEYFILE`)."
)
@click.option(
    "--profile",
    type=click.Choice(["basic"]),
    default="basic",
    show_default=True,
    help="PS3.15 confidentiality profile.",
)
@click.option(
    "--option",
    "options",
    multiple=True,
    type=click.Choice(_OPTION_NAMES),
    help="PS3.15 option on top of the profile (repeatable).",
)
@click.option(
    "--safe-private",
    multiple=True,
    metavar="CREATOR:EE",
    help="With retain-safe-private: a private attribute to keep (repeatable).",
)
@options.workers
@options.resume
@click.option(
    "--hold-for-review",
    is_flag=True,
    help="Write images that may show burned-in text under OUT_DIR/review/.",
)
@options.json_output
def run(
    in_dir: str,
    out_dir: str,
    key_file: str,
    profile: str,
    options: tuple[str, ...],
    safe_private: tuple[str, ...],
    workers: int | None,
    resume: bool,
    hold_for_review: bool,
    as_json: bool,
) -> int:
    """De-identify every DICOM file under IN_DIR into OUT_DIR.

    Outputs are named OUT_DIR/<study>/<series>/<instance>.dcm by their new UIDs; pixel data
    is copied byte for byte. OUT_DIR/deid_audit.csv lists every input (hash, status, counts
    of actions, burned-in review flags), never an original value. Non-DICOM and truncated
    files are reported, not copied.
    """
    from medscale.deid import DeidSettings, deidentify_tree, load_key

    key = load_key(key_file)
    settings = DeidSettings.from_names(options, safe_private=_parse_safe_private(safe_private))
    n_workers = resolve_workers(workers)
    summary = _run_with_progress(
        deidentify_tree,
        in_dir,
        out_dir,
        key=key,
        settings=settings,
        workers=n_workers,
        resume=resume,
        hold_for_review=hold_for_review,
        show=not as_json,
    )
    record = {k: v for k, v in summary.__dict__.items() if k != "rows"}
    if as_json:
        click.echo(json.dumps(record))
    counts = ", ".join(f"{n} {status}" for status, n in summary.by_status.items() if n)
    click.echo(
        f"{out_dir}: {counts or 'no files'}; {summary.n_processed} processed in "
        f"{summary.wall_s:.1f} s ({summary.files_per_s:.1f} files/s)",
        err=True,
    )
    if summary.n_review:
        where = "under review/" if hold_for_review else "in the rows with a 'review' reason"
        click.echo(
            f"warning: {summary.n_review} image(s) may show burned-in text; check "
            f"them by eye ({where}, deid_audit.csv)",
            err=True,
        )
    problems = sum(
        summary.by_status.get(status, 0) for status in ("truncated", "invalid", "failed")
    )
    if summary.by_status.get("not_dicom", 0):
        click.echo(f"note: {summary.by_status['not_dicom']} non-DICOM file(s) not copied", err=True)
    if problems:
        click.echo(
            f"error: {problems} file(s) truncated, invalid or failed; not copied; see "
            "deid_audit.csv",
            err=True,
        )
        return 1
    return 0


def _run_with_progress(function, *args, show: bool, **kwargs):  # type: ignore[no-untyped-def]
    if not show or not sys.stderr.isatty():
        return function(*args, **kwargs)
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("de-identifying", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return function(*args, progress=update, **kwargs)


@command.command("verify", epilog="Example: medscale deid verify deid-out/ --phi-list phi.txt")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@options.file_option(
    "--phi-list",
    exists=True,
    help="Known original values, one per line, searched in every file's raw bytes.",
)
@click.option(
    "--max-lines",
    type=int,
    default=50,
    show_default=True,
    help="Findings listed on stdout (all are counted).",
)
@options.json_output
def verify(folder: str, phi_list: str | None, max_lines: int, as_json: bool) -> int:
    """Scan FOLDER for residual identifiers; exit 1 when anything remains.

    Checks every file's raw bytes for the --phi-list values, and every DICOM file for
    attributes the profile removes or empties, names, dates, original UIDs, private tags,
    overlays and curves. Findings never show the value found.
    """
    from collections import Counter

    from medscale.deid import check_references, check_tree, read_phi_list

    values = read_phi_list(phi_list) if phi_list else []
    checked = check_tree(folder, phi_values=values)
    findings = checked.findings
    links = check_references(folder)
    others = checked.other_files
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        searched = "searched for the --phi-list values only" if values else "NOT checked"
        click.echo(
            f"warning: {len(others)} file(s) are not DICOM and were {searched}: {shown}",
            err=True,
        )
    click.echo(
        f"{folder}: {links.n_resolved} of {links.n_references} UID references between "
        "files resolve inside the folder",
        err=True,
    )
    by_kind = Counter(finding.kind for finding in findings)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "n_findings": len(findings),
                    "dicom_files": checked.dicom_files,
                    "other_files": others,
                    "by_kind": dict(by_kind),
                    "references": links.__dict__,
                    "findings": [f.__dict__ for f in findings],
                }
            )
        )
    else:
        for finding in findings[:max_lines]:
            click.echo(f"{finding.file}\t{finding.tag}\t{finding.kind}\t{finding.detail}")
    if findings:
        kinds = ", ".join(f"{n} {kind}" for kind, n in by_kind.most_common())
        click.echo(f"error: {len(findings)} residual identifier(s) in {folder}: {kinds}", err=True)
        return 1
    click.echo(
        f"{folder}: no residual identifiers found in {checked.dicom_files} DICOM file(s)"
        f"{f' ({len(values)} known values searched)' if values else ''}",
        err=True,
    )
    return 0


@command.command("keygen", epilog="Example: medscale deid keygen project.key")
@click.argument("key_file", type=click.Path(dir_okay=False))
@click.option(
    "--bytes",
    "n_bytes",
    type=click.IntRange(min=32),
    default=32,
    show_default=True,
    help="Secret length in bytes.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing key file.")
def keygen(key_file: str, n_bytes: int, force: bool) -> None:
    """Write a new random project key to KEY_FILE (mode 600: its owner only).

    Keep it secret and keep it safe: the same key gives the same pseudonyms and UIDs in every
    run; without it, pseudonyms cannot be linked back or reproduced.
    """
    from medscale.deid import generate_key

    path = generate_key(key_file, n_bytes=n_bytes, overwrite=force)
    click.echo(f"{path}: new {n_bytes}-byte key written (mode 600)", err=True)
