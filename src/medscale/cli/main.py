"""Entry point of the `medscale` command: a click group whose subcommands load lazily.

Each subcommand is the ``command`` object of module ``medscale.cli.<module>``; the module
imports only click at the top so that ``medscale --help`` answers at once. A subcommand whose
module is not installed is simply not listed.

Exit codes: 0 success, 1 failure (a one-line ``error:`` message; the traceback with
``--debug``), 2 usage error.
"""

from __future__ import annotations

import importlib
import logging
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import click

from medscale import __version__

# name -> (module under medscale.cli, one-line help shown by `medscale --help`)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "Run the whole pipeline on a built-in synthetic cohort; write report.html."),
    "convert": ("convert", "Convert any readable image (DICOM, NIfTI, NRRD, PNG) to NIfTI/NRRD."),
    "scan": ("scan", "Index a folder of DICOM files into a Parquet catalog (header-only)."),
    "datasets": ("datasets", "Download the public reference data sets and check their SHA-256."),
    "catalog": ("catalog", "Query a catalog with SQL (DuckDB) and summarise it."),
    "extract": ("extract", "Extract IBSI radiomics features for one case or a manifest."),
    "features": ("features", "List the radiomics features with their IBSI codes."),
    "filter": ("filter", "Apply an IBSI convolutional filter to an image."),
    "preprocess": ("preprocess", "Apply a chain of preprocessing steps to an image."),
    "segment": ("segment", "Segment an image and score it against a truth mask."),
    "deid": ("deid", "De-identify DICOM files with keyed pseudonyms; verify; make keys."),
    "pacs": ("pacs", "Find, get and put studies on a PACS (DICOMweb or DIMSE)."),
    "run": ("run", "Run a batch described by a YAML run file."),
    "train": ("train", "Train a model on a feature table."),
    "predict": ("predict", "Predict with a saved model."),
    "evaluate": ("evaluate", "Score a predictions table: metrics with 95 % CIs."),
    "robustness": ("robustness", "ICC(3,1) per feature under mask, noise, rotation, bin changes."),
    "triage": ("triage", "Rank a worklist by predicted risk at a chosen sensitivity."),
    "report": ("report", "Write one self-contained HTML report of a run folder."),
}


class _QuietThirdParty(logging.Filter):
    """Keep third-party logs and warnings off the terminal unless -v / --debug: a failure
    reaches the user as medscale's own one-line error (pydicom logs ERROR with a traceback)."""

    verbose = False

    def filter(self, record: logging.LogRecord) -> bool:
        return self.verbose or record.name.split(".")[0] == "medscale"


_QUIET = _QuietThirdParty()


def _replay(caught: list[warnings.WarningMessage]) -> None:
    """Third-party warnings caught during a command go to the log (seen with -v / --debug);
    medscale's own are re-issued as warnings, so they print (and tests can catch them)."""
    from medscale.errors import MedscaleWarning

    for found in caught:
        if issubclass(found.category, MedscaleWarning):
            warnings.warn_explicit(found.message, found.category, found.filename, found.lineno)
        else:
            text = f"{found.category.__name__}: {found.message}"
            logging.getLogger("py.warnings").warning(text)


def _module_name(name: str) -> str:
    return f"medscale.cli.{SUBCOMMANDS[name][0]}"


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when it is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in SUBCOMMANDS:
            return None
        return importlib.import_module(_module_name(cmd_name)).command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUBCOMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Example: medscale demo --out demo-output",
)
@click.version_option(__version__, prog_name="medscale")
@click.option("--debug", is_flag=True, help="Show full tracebacks and debug logs.")
@click.option("-v", "--verbose", is_flag=True, help="Show progress logs (INFO).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """medscale: medical-image analysis at scale."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    _QUIET.verbose = debug or verbose
    for handler in logging.getLogger().handlers:  # a run's own log file may want more detail
        handler.setLevel(level)
        handler.addFilter(_QUIET)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (for tests: ``main(["--help"])``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:  # issue 13: keep the terminal quiet
            return _main(args)
    finally:
        _replay(caught)


def _main(args: list[str]) -> int:
    debug = "--debug" in args
    try:
        result: Any = cli.main(args=args, prog_name="medscale", standalone_mode=False)
    except click.exceptions.Exit as stop:
        return stop.exit_code
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except Exception as err:  # noqa: BLE001 - the CLI turns every failure into one line
        if debug:
            raise
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        click.echo(f"error: {message}", err=True)
        from medscale.errors import MedscaleError

        if not isinstance(err, MedscaleError):
            click.echo(f"({type(err).__name__}; run with --debug for the traceback)", err=True)
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
