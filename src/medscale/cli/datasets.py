"""`medscale datasets fetch NAME... [--to DIR] [--json]`: download the public reference data."""

from __future__ import annotations

import click

from medscale.cli import options


@click.group(epilog="Example: medscale datasets fetch ibsi1 --to ~/medscale-data")
def command() -> None:
    """Download the public reference data sets (IBSI phantoms, samples, MedMNIST)."""


@command.command(
    "fetch",
    epilog="Example: MEDSCALE_DATA_URL=http://mirror.example/data medscale datasets fetch all",
)
@click.argument("names", nargs=-1, required=True)
@click.option(
    "--to",
    "to",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder to store the data in (default: $MEDSCALE_DATA, else ~/.cache/medscale/data).",
)
@options.json_output
def fetch_command(names: tuple[str, ...], to: str | None, as_json: bool) -> None:
    """Download NAMES (ibsi1, ibsi2, samples, medmnist or all) and check each SHA-256.

    Files come from $MEDSCALE_DATA_URL (a mirror laid out like the data folder) when set,
    else from their public upstream; files already present with the right SHA-256 are kept,
    a cut download resumes. Files written for this project have no public upstream and are
    fetched only from a mirror.
    """
    import json

    from medscale.datasets.download import Fetched, fetch, target_root

    def show(result: Fetched) -> None:
        if not as_json and result.status != "present":
            click.echo(f"{result.status:<11} {result.path}", err=True)

    results = fetch(names, to=to, progress=show)
    root = target_root(to)
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    mirror_only = [r.path for r in results if r.status == "mirror-only"]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "root": str(root),
                    "counts": counts,
                    "files": [
                        {"path": r.path, "status": r.status, "url": r.url, "bytes": r.bytes}
                        for r in results
                    ],
                }
            )
        )
        return
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    click.echo(f"{len(results)} files in {root}: {summary}")
    if mirror_only:
        click.echo(
            f"{len(mirror_only)} files have no public upstream (written for medscale); set "
            "MEDSCALE_DATA_URL to a mirror to fetch them: " + ", ".join(mirror_only),
            err=True,
        )
