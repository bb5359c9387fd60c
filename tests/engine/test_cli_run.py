import json

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
