import json
import subprocess
import sys

import pytest
import yaml

from medscale.cli.main import main
from medscale.engine import read_features


def _write_run_file(folder, manifest, **extra):
    document = {"manifest": str(manifest), "out": "run", "stages": ["read"], **extra}
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_run_file_with_local_workers(small_cohort, tmp_path, capsys):
    run_file = _write_run_file(tmp_path, small_cohort)
    assert main(["run", str(run_file), "--workers", "2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["cases_done"] == 6 and summary["executor"] == "local"
    assert summary["workers"] == 2
    assert len(read_features(tmp_path / "run")) == 6


def test_unknown_key_suggests_the_closest(small_cohort, tmp_path, capsys):
    run_file = _write_run_file(tmp_path, small_cohort, worker=2)
    assert main(["run", str(run_file)]) == 1
    assert "did you mean 'workers'" in capsys.readouterr().err


@pytest.mark.parametrize("option", [["--workers", "0"], ["--dask-local", "0"]])
def test_bad_worker_counts_are_usage_errors(small_cohort, tmp_path, option):
    run_file = _write_run_file(tmp_path, small_cohort)
    assert main(["run", str(run_file), *option]) == 2


def test_a_cli_run_never_imports_pandas_and_leaves_it_importable(small_cohort, tmp_path):
    # pyarrow imports pandas (0.2-0.4 s of start-up) unless the run hides it; in a fresh process
    probe = (
        "import sys\n"
        "from medscale.cli.main import main\n"
        f"code = main(['extract', '--manifest', {str(small_cohort)!r}, '--out', "
        f"{str(tmp_path / 'run')!r}, '--workers', '1'])\n"
        "print(code, 'pandas' in sys.modules)\n"
        "import pandas, pyarrow as pa\n"
        "frame = pandas.DataFrame({'c': pandas.Categorical(['a', 'b', 'a'])})\n"
        "print(pa.Table.from_pandas(frame).schema.field('c').type)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "0 False", done.stderr
    assert lines[1].startswith("dictionary<"), lines
    assert len(read_features(tmp_path / "run")) == 6
