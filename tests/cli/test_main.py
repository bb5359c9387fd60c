import subprocess
import sys
import time

from medscale import __version__
from medscale.cli.main import main


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "convert" in out and "Example" in out


def test_unknown_command_is_usage_error(capsys):
    assert main(["no-such-command"]) == 2


def test_every_subcommand_has_help_with_example(capsys):
    """Every listed command imports and has --help with an example (none is a promise)."""
    import importlib

    from medscale.cli.main import SUBCOMMANDS, LazyGroup, cli

    assert LazyGroup.list_commands(cli, None) == list(SUBCOMMANDS)
    for name, (module, _) in SUBCOMMANDS.items():
        assert hasattr(importlib.import_module(f"medscale.cli.{module}"), "command"), name
        assert main([name, "--help"]) == 0, name
        assert "Example" in capsys.readouterr().out, f"{name} --help lacks an example"


def test_failure_is_one_line_exit_1(tmp_path, capsys):
    code = main(["convert", str(tmp_path), str(tmp_path / "out.txt")])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err


def test_help_starts_fast():
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "medscale.cli.main", "--help"], check=True, capture_output=True
    )
    assert time.perf_counter() - start < 1.5  # lazy imports: no numpy/SimpleITK at start-up
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from medscale.cli.main import cli; "
            "print(any(m in sys.modules for m in ('SimpleITK', 'pydicom', 'scipy', 'pandas')))",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == "False"
