"""medscale.pacs pieces that need no server: settings, study query, atomic writes, retries."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from medscale.errors import ConfigError, InputError, PacsError
from medscale.image import Image
from medscale.io.dicom_write import write_dicom_series
from medscale.pacs import PacsConfig, StudyQuery, collect_dicom_files, instance_path, write_instance
from medscale.pacs.files import with_retries


def test_config_from_env():
    config = PacsConfig.from_env(
        {"MEDSCALE_PACS_URL": "http://127.0.0.1:8042/", "MEDSCALE_PACS_PORT": "4242"}
    )
    assert config.url == "http://127.0.0.1:8042/dicom-web"
    assert (config.port, config.called_aet, config.aet) == (4242, "ORTHANC", "MEDSCALE")
    assert (
        PacsConfig.from_env({"MEDSCALE_PACS_URL": "https://h/wado/rs"}).url == "https://h/wado/rs"
    )
    with pytest.raises(ConfigError, match="MEDSCALE_PACS_PORT"):
        PacsConfig.from_env({"MEDSCALE_PACS_PORT": "abc"})
    with pytest.raises(ConfigError, match="MEDSCALE_PACS_URL"):
        PacsConfig.from_env({}).require_url()


def test_config_file_with_environment_overrides(tmp_path):
    config = tmp_path / "pacs.env"
    config.write_text(
        "# written by orthanc.sh start\n"
        "export MEDSCALE_PACS_URL='http://127.0.0.1:8042'\n"
        "MEDSCALE_PACS_USER=reader\n"
        'MEDSCALE_PACS_PASSWORD="s3cret"\n'
        "MEDSCALE_PACS_PORT=4242\n"
    )
    config.chmod(0o600)
    found = PacsConfig.from_env(
        {"MEDSCALE_PACS_CONFIG": str(config), "MEDSCALE_PACS_PORT": "11112"}
    )
    assert found.url == "http://127.0.0.1:8042/dicom-web"
    assert (found.user, found.password) == ("reader", "s3cret")
    assert found.port == 11112  # the environment wins over the file
    config.chmod(0o644)
    with pytest.raises(ConfigError, match="holds a password but others may read it: chmod 600"):
        PacsConfig.from_env({"MEDSCALE_PACS_CONFIG": str(config)})
    config.write_text("MEDSCALE_PACS_PASWORD=x\n")
    with pytest.raises(ConfigError, match=r"pacs.env:1: unknown setting 'MEDSCALE_PACS_PASWORD'"):
        PacsConfig.from_env({"MEDSCALE_PACS_CONFIG": str(config)})
    config.write_text("\njust words\n")
    with pytest.raises(ConfigError, match=r"pacs.env:2: expected NAME=value"):
        PacsConfig.from_env({"MEDSCALE_PACS_CONFIG": str(config)})
    with pytest.raises(ConfigError, match="cannot read it"):
        PacsConfig.from_env({"MEDSCALE_PACS_CONFIG": str(tmp_path / "none.env")})


def test_study_query_dates():
    assert StudyQuery(study_date="20240101-20240131").keys() == {"StudyDate": "20240101-20240131"}
    with pytest.raises(ConfigError, match="YYYYMMDD"):
        StudyQuery(study_date="2024-01-01")


@pytest.fixture
def files(tmp_path):
    image = Image(np.arange(2 * 4 * 4, dtype=np.float64).reshape(2, 4, 4))
    return write_dicom_series(image, tmp_path / "series")


def test_write_instance_atomic_and_skips(files, tmp_path):
    ds = pydicom.dcmread(files[0])
    out = tmp_path / "out"
    path = write_instance(ds, out)
    assert path == instance_path(out, ds.StudyInstanceUID, ds.SOPInstanceUID)
    assert pydicom.dcmread(path).SOPInstanceUID == ds.SOPInstanceUID
    assert write_instance(ds, out) is None  # already present: skipped
    broken = pydicom.dcmread(files[1])
    del broken.file_meta  # cannot be written as a DICOM file
    broken.SOPInstanceUID = "1.2.3"
    with pytest.raises(Exception):  # noqa: B017 - whatever pydicom raises
        write_instance(broken, tmp_path / "other")
    assert not any((tmp_path / "other").rglob("*"))  # no partial file, no empty study folder


def test_retries_transient_then_gives_up():
    calls = []

    def flaky():
        calls.append(1)
        raise ConnectionError("down")

    with pytest.raises(PacsError, match=r"probe: down \(after 3 attempts\)"):
        with_retries(
            flaky, what="probe", retries=2, backoff=0.0, transient=lambda e: True, explain=str
        )
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(PacsError, match="probe: down$"):
        with_retries(
            flaky, what="probe", retries=2, backoff=0.0, transient=lambda e: False, explain=str
        )
    assert len(calls) == 1


def test_collect_dicom_files(files, tmp_path):
    (tmp_path / "series" / "notes.txt").write_text("not dicom")
    assert collect_dicom_files([tmp_path / "series"]) == sorted(files)
    with pytest.raises(InputError, match="not a DICOM file"):
        collect_dicom_files([tmp_path / "series" / "notes.txt"])
