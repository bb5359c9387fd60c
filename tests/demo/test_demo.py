import pandas as pd

from medscale.catalog import query
from medscale.cli.main import main
from medscale.demo import run_demo
from medscale.engine import read_failures, read_features


def test_demo_runs_the_pipeline_end_to_end(tmp_path):
    result = run_demo(tmp_path / "demo", n_cases=4, workers=1)
    html = result.report.read_text()
    for section in ("Cohort", "Images and lesion masks", "Catalog", "Radiomics features"):
        assert section in html
    assert html.count("data:image/png;base64,") == 5  # four thumbnails and the scanner chart
    manifest = pd.read_csv(tmp_path / "demo" / "cohort" / "manifest.csv")
    instances = query(
        result.catalog,
        "SELECT count(*) AS n, count(DISTINCT series_instance_uid) "
        "AS series FROM instances WHERE modality = 'CT'",
    )
    assert instances["series"].iloc[0] == len(manifest) == 4
    assert instances["n"].iloc[0] >= 4 * 20  # every slice of every series is indexed
    features = read_features(result.run_dir)
    assert len(features) == 4 and read_failures(result.run_dir).empty
    assert (features["morph_volume"] > 0).all()


def test_demo_cli_help_has_example(capsys):
    assert main(["demo", "--help"]) == 0
    assert "Example: medscale demo" in capsys.readouterr().out
