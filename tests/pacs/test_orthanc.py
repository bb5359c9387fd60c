"""Integration tests against a real Orthanc on 127.0.0.1, started by ../shared/services/orthanc.sh.

Skipped (with the reason) where Orthanc is not installed, except in CI (CI=true), where they
fail instead: .ci/run installs Orthanc first.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest

from medscale.cli.main import main
from medscale.image import Image
from medscale.io.dicom_write import write_dicom_series

pytestmark = pytest.mark.integration

ORTHANC_SH = Path(__file__).resolve().parents[3] / "shared" / "services" / "orthanc.sh"
if not ORTHANC_SH.exists():  # the worktree layout (/work/wt-N) and the main one (/work/main)
    ORTHANC_SH = Path("/work/shared/services/orthanc.sh")


def _installed() -> str | None:
    """None if Orthanc can run here, else why not."""
    if not ORTHANC_SH.exists():
        return f"{ORTHANC_SH} not found"
    if not Path("/usr/sbin/Orthanc").exists():
        return "Orthanc is not installed (run ../shared/services/orthanc.sh install)"
    if shutil.which("cc") is None:
        return "no C compiler for orthanc.sh's loopback shim"
    return None


def _run_sh(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["bash", str(ORTHANC_SH), *args], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"orthanc.sh {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def _parse_env(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            values[key] = shlex.split(value)[0]
    return values


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    why = _installed()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the Orthanc tests: {why}")
        pytest.skip(why)
    folder = tmp_path_factory.mktemp("orthanc")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSCALE_")}
    settings = _parse_env(_run_sh("start", str(folder), env=env))
    try:
        yield folder, settings
    finally:
        _run_sh("stop", str(folder), env=env)


@pytest.fixture
def pacs_env(orthanc, monkeypatch):
    _, settings = orthanc
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MEDSCALE_PACS_RETRIES", "1")
    monkeypatch.setenv("MEDSCALE_PACS_BACKOFF", "0.05")
    return settings


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """A small synthetic CT series written by medscale's own DICOM writer."""
    rng = np.random.default_rng(17)
    array = rng.integers(-1000, 2000, size=(5, 24, 20)).astype(np.float64)
    image = Image(array, spacing=(2.5, 0.8, 0.8), origin=(-10.0, 5.0, 3.0))
    folder = tmp_path_factory.mktemp("series")
    header = {"PatientID": "PACS-T1", "StudyDate": "20240115", "PatientName": "Test^Pacs"}
    paths = write_dicom_series(image, folder, header=header)
    study = str(pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID)
    return folder, paths, study


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def stored(pacs_env, series, capsys):
    folder, paths, study = series
    code, out, err = _cli(capsys, "pacs", "put", str(folder))
    assert code == 0, err
    assert f"{len(paths)} instances stored" in out
    return folder, paths, study


def _by_sop(paths):
    return {str(pydicom.dcmread(p).SOPInstanceUID): pydicom.dcmread(p) for p in paths}


def test_echo_both_protocols(pacs_env, capsys):
    for protocol in ("dimse", "dicomweb"):
        code, out, err = _cli(capsys, "pacs", "echo", "--protocol", protocol)
        assert code == 0, err
        assert out.strip() == "ok"


@pytest.mark.parametrize("protocol", ["dicomweb", "dimse"])
def test_find_json(stored, capsys, protocol):
    _, paths, study = stored
    code, out, err = _cli(
        capsys,
        "pacs", "find", "--patient-id", "PACS-T1", "--modality", "CT",
        "--study-date", "20240101-20240131", "--protocol", protocol, "--json",
    )  # fmt: skip
    assert code == 0, err
    studies = json.loads(out)
    assert [s["StudyInstanceUID"] for s in studies] == [study]
    record = studies[0]
    assert record["PatientID"] == "PACS-T1"
    assert record["StudyDate"] == "20240115"
    assert record["ModalitiesInStudy"] == ["CT"]
    assert record["NumberOfStudyRelatedInstances"] == len(paths)
    code, out, _ = _cli(capsys, "pacs", "find", "--study-date", "20230101-20231231", "--json")
    assert code == 0 and json.loads(out) == []


# "dimse --move": C-MOVE to our own Storage SCP on MEDSCALE_AET_PORT instead of C-GET
RETRIEVALS = ["dicomweb", "dimse", "dimse --move"]


@pytest.mark.parametrize("retrieval", RETRIEVALS)
def test_get_matches_originals_and_resumes(stored, tmp_path, capsys, retrieval):
    _, paths, study = stored
    out_dir = tmp_path / "out"
    protocol = ("--protocol", *retrieval.split())
    code, out, err = _cli(capsys, "pacs", "get", study, "--out", str(out_dir), *protocol)
    assert code == 0, err
    got = sorted((out_dir / study).iterdir())
    assert [p.suffix for p in got] == [".dcm"] * len(paths)
    originals, copies = _by_sop(paths), _by_sop(got)
    assert set(copies) == set(originals)
    assert {p.stem for p in got} == set(originals)  # named by SOP Instance UID
    for uid, original in originals.items():
        np.testing.assert_array_equal(copies[uid].pixel_array, original.pixel_array)
        assert copies[uid].StudyInstanceUID == study
    # resumable: a removed instance is fetched again, the others are skipped
    got[0].unlink()
    code, out, err = _cli(capsys, "pacs", "get", study, "--out", str(out_dir), *protocol)
    assert code == 0, err
    assert f"1 written, {len(paths) - 1} already present" in out
    assert not [p for p in (out_dir / study).iterdir() if p.name.startswith(".part-")]
    assert sorted((out_dir / study).iterdir()) == got  # the missing file is back, nothing else


def _assert_failed(capsys, out_dir: Path, *args: str, expect: str) -> None:
    code, _, err = _cli(capsys, *args, "--out", str(out_dir))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expect in lines[0]
    assert not out_dir.exists() or not any(out_dir.rglob("*"))


@pytest.mark.parametrize("protocol", ["dicomweb", "dimse"])
def test_unknown_study(stored, tmp_path, capsys, protocol):
    _assert_failed(
        capsys, tmp_path / "out", "pacs", "get", "1.2.3.4.5.6.7", "--protocol", protocol,
        expect="study 1.2.3.4.5.6.7 not found",
    )  # fmt: skip


def test_wrong_password(stored, tmp_path, capsys, monkeypatch):
    _, _, study = stored
    monkeypatch.setenv("MEDSCALE_PACS_PASSWORD", "not-the-password")
    _assert_failed(capsys, tmp_path / "out", "pacs", "get", study, expect="HTTP 401")
    code, _, err = _cli(capsys, "pacs", "find")
    assert code == 1 and "refused the credentials" in err


def test_refused_ae_titles(stored, tmp_path, capsys, monkeypatch):
    _, _, study = stored
    monkeypatch.setenv("MEDSCALE_AET", "STRANGER")  # calling AE unknown to Orthanc
    _assert_failed(
        capsys, tmp_path / "a", "pacs", "get", study, "--protocol", "dimse",
        expect="AE title allowed",
    )  # fmt: skip
    monkeypatch.setenv("MEDSCALE_AET", "MEDSCALE")
    monkeypatch.setenv("MEDSCALE_PACS_AET", "NOT_ORTHANC")  # called AE refused
    _assert_failed(
        capsys, tmp_path / "b", "pacs", "get", study, "--protocol", "dimse",
        expect="rejected the association",
    )  # fmt: skip


def test_stopped_server(orthanc, stored, tmp_path, capsys):
    folder, settings = orthanc
    _, _, study = stored
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSCALE_")}
    _run_sh("stop", str(folder), env=env)
    try:
        for retrieval in RETRIEVALS:
            _assert_failed(
                capsys, tmp_path / retrieval.replace(" ", ""), "pacs", "get", study,
                "--protocol", *retrieval.split(), expect="cannot connect",
            )  # fmt: skip
    finally:  # restart on the same ports and credentials (orthanc.sh reuses them)
        restarted = _parse_env(_run_sh("start", str(folder), env=env))
        assert restarted == settings


@pytest.mark.parametrize("retrieval", RETRIEVALS)
def test_get_deid(stored, tmp_path, capsys, retrieval):
    from medscale.deid import generate_key, verify_tree

    _, paths, study = stored
    key = generate_key(tmp_path / "project.key")
    out_dir = tmp_path / "out"
    protocol = ("--protocol", *retrieval.split())
    args = ("pacs", "get", study, "--out", str(out_dir), *protocol, "--deid", str(key))
    code, out, err = _cli(capsys, *args)
    assert code == 0, err
    assert not (out_dir / study).exists()  # named by the new study UID, never the original
    got = sorted(p for p in out_dir.rglob("*") if p.is_file())
    assert len(got) == len(paths) and all(p.suffix == ".dcm" for p in got)
    originals = sorted((pydicom.dcmread(p) for p in paths), key=lambda d: int(d.InstanceNumber))
    copies = sorted((pydicom.dcmread(p) for p in got), key=lambda d: int(d.InstanceNumber))
    original_uids = {str(d.SOPInstanceUID) for d in originals}
    for original, copy in zip(originals, copies, strict=True):
        assert str(copy.PatientName) != "Test^Pacs" and copy.PatientID != "PACS-T1"
        assert copy.PatientIdentityRemoved == "YES"
        assert str(copy.SOPInstanceUID) not in original_uids
        assert str(copy.StudyInstanceUID) != study
        np.testing.assert_array_equal(copy.pixel_array, original.pixel_array)
    assert {p.stem for p in got} == {str(d.SOPInstanceUID) for d in copies}
    assert verify_tree(out_dir, phi_values=["Test^Pacs", "PACS-T1", study, *original_uids]) == []
    # resumable with the same key: the new UIDs are keyed, so present files are skipped
    got[0].unlink()
    code, out, err = _cli(capsys, *args)
    assert code == 0, err
    assert f"1 written, {len(paths) - 1} already present" in out
    assert not [p for p in out_dir.rglob(".part-*")]


def test_move_busy_port(stored, pacs_env, tmp_path, capsys):
    import socket

    _, _, study = stored
    with socket.socket() as squatter:  # something else already listens on our SCP port
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past C-MOVEs' TIME_WAIT
        squatter.bind(("127.0.0.1", int(pacs_env["MEDSCALE_AET_PORT"])))
        squatter.listen()
        _assert_failed(
            capsys, tmp_path / "out", "pacs", "get", study, "--protocol", "dimse", "--move",
            expect="port is in use",
        )  # fmt: skip


def test_move_unknown_destination(stored, pacs_env, tmp_path):
    """A Move Destination the PACS has no modality for (Orthanc 1.10 answers 0xC000)."""
    from medscale.errors import PacsError
    from medscale.pacs import DimseClient, PacsConfig

    _, _, study = stored
    out_dir = tmp_path / "out"
    client = DimseClient(PacsConfig.from_env())
    with pytest.raises(PacsError) as caught:
        client.move_study(study, out_dir, destination="NOWHERE")
    message = str(caught.value)
    assert "\n" not in message and "is the move destination 'NOWHERE' known to it" in message
    assert not out_dir.exists() or not any(out_dir.rglob("*"))
    # our SCP was stopped again: nothing listens on the port
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", int(pacs_env["MEDSCALE_AET_PORT"])))


def _set_modality_port(settings: dict[str, str], port: int) -> None:
    """Change the port Orthanc has for our AE title (REST ``PUT /modalities/medscale``)."""
    import base64
    import urllib.request

    body = {
        "AET": settings["MEDSCALE_AET"], "Host": "127.0.0.1", "Port": port,
        "AllowEcho": True, "AllowStore": True, "AllowFind": True, "AllowMove": True,
        "AllowGet": True,
    }  # fmt: skip
    auth = f"{settings['MEDSCALE_PACS_USER']}:{settings['MEDSCALE_PACS_PASSWORD']}"
    request = urllib.request.Request(
        f"{settings['MEDSCALE_PACS_URL']}/modalities/medscale",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def test_move_destination_unreachable(stored, pacs_env, tmp_path, capsys):
    """The PACS knows our AE title at another port: its C-STOREs fail, one line, nothing kept."""
    _, _, study = stored
    our_port = int(pacs_env["MEDSCALE_AET_PORT"])
    _set_modality_port(pacs_env, our_port + 1 if our_port < 32000 else our_port - 1)
    try:
        _assert_failed(
            capsys, tmp_path / "out", "pacs", "get", study, "--protocol", "dimse", "--move",
            expect="can it reach our Storage SCP at 127.0.0.1:",
        )  # fmt: skip
    finally:
        _set_modality_port(pacs_env, our_port)


@pytest.mark.parametrize("method", ["get_study", "move_study"])
def test_write_failure_is_reported_and_leaves_nothing(stored, pacs_env, tmp_path, method):
    """An instance that cannot be written: the write error is the one line, not 0xB000."""
    from medscale.errors import PacsError
    from medscale.pacs import DimseClient, PacsConfig, Rewrite

    def boom(dataset):
        raise OSError(f"disk full writing {dataset.SOPInstanceUID}")

    _, _, study = stored
    out_dir = tmp_path / "out"
    client = DimseClient(PacsConfig.from_env())
    with pytest.raises(PacsError, match="writing failed: disk full writing"):
        getattr(client, method)(study, out_dir, rewrite=Rewrite(dataset=boom, uid=str))
    assert not out_dir.exists() or not any(out_dir.rglob("*"))


def test_move_scp_refuses_other_studies(stored, pacs_env, tmp_path):
    """While our SCP listens, an instance of another study pushed to it is refused, not kept."""
    from pynetdicom import AE

    from medscale.pacs import DimseClient, PacsConfig, Rewrite

    _, paths, study = stored
    stray_dir = write_dicom_series(
        Image(np.zeros((1, 4, 4)), spacing=(1.0, 1.0, 1.0)), tmp_path / "stray", header={}
    )
    stray = pydicom.dcmread(stray_dir[0])
    assert str(stray.StudyInstanceUID) != study
    pushed = []

    def push_stray_once(dataset):  # runs in our SCP while Orthanc's C-STOREs arrive
        if not pushed:
            ae = AE(ae_title="INTRUDER")
            ae.add_requested_context(stray.SOPClassUID, stray.file_meta.TransferSyntaxUID)
            assoc = ae.associate(
                "127.0.0.1", int(pacs_env["MEDSCALE_AET_PORT"]), ae_title="MEDSCALE"
            )
            assert assoc.is_established
            pushed.append(int(assoc.send_c_store(stray).Status))
            assoc.release()
        return dataset

    out_dir = tmp_path / "out"
    client = DimseClient(PacsConfig.from_env())
    written, _ = client.move_study(study, out_dir, rewrite=Rewrite(push_stray_once, uid=str))
    assert pushed == [0x0124]
    assert written == len(paths)
    got = {p.stem for p in out_dir.rglob("*.dcm")}
    assert got == {str(pydicom.dcmread(p).SOPInstanceUID) for p in paths}


def test_move_needs_dimse_and_aet_port(tmp_path, capsys, monkeypatch):
    """Checked before any network traffic, so no Orthanc needed."""
    study = "1.2.3.4"
    code, _, err = _cli(capsys, "pacs", "get", study, "--out", str(tmp_path / "a"), "--move")
    assert code == 2 and "--move needs --protocol dimse" in err
    monkeypatch.delenv("MEDSCALE_AET_PORT", raising=False)
    _assert_failed(
        capsys, tmp_path / "b", "pacs", "get", study, "--protocol", "dimse", "--move",
        expect="set MEDSCALE_AET_PORT",
    )  # fmt: skip


@pytest.mark.parametrize("protocol", ["dicomweb", "dimse"])
def test_scan_pacs_catalog(stored, tmp_path, capsys, protocol):
    _, paths, study = stored
    catalog = tmp_path / "pacs.parquet"
    code, out, err = _cli(
        capsys, "scan", "--pacs", "--catalog", str(catalog), "--protocol", protocol,
        "--patient-id", "PACS-T1",
    )  # fmt: skip
    assert code == 0, err
    assert f"{len(paths)} instances" in out
    code, out, err = _cli(
        capsys,
        "catalog", "query", "--catalog", str(catalog), "--json",
        "SELECT sop_instance_uid, modality, patient_id, study_instance_uid, path FROM instances",
    )  # fmt: skip
    assert code == 0, err
    rows = json.loads(out)["rows"]
    originals = _by_sop(paths)
    assert sorted(r["sop_instance_uid"] for r in rows) == sorted(originals)
    for row in rows:
        assert row["modality"] == originals[row["sop_instance_uid"]].Modality == "CT"
        assert row["patient_id"] == "PACS-T1"
        assert row["study_instance_uid"] == study
        if protocol == "dicomweb":
            assert row["path"].startswith("http")
            assert row["path"].endswith(
                f"/series/{originals[row['sop_instance_uid']].SeriesInstanceUID}/instances/{row['sop_instance_uid']}"
            )
        else:
            assert row["path"] == f"pacs:{row['sop_instance_uid']}"


def test_scan_needs_root_or_pacs(tmp_path, capsys):
    code, _, err = _cli(capsys, "scan", "--catalog", str(tmp_path / "x.parquet"))
    assert code == 2
    assert "ROOT or --pacs" in err


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """A second synthetic CT study with a DICOM-SEG and a TID 1500 SR written by medscale."""
    from medscale.image import Mask
    from medscale.io.dicom import read_dicom
    from medscale.io.seg_write import write_seg
    from medscale.io.sr import write_feature_report

    rng = np.random.default_rng(170)
    array = rng.integers(-100, 200, size=(6, 22, 18)).astype(np.float64)
    root = tmp_path_factory.mktemp("outputs")
    header = {"PatientID": "PACS-SEG", "StudyDate": "20240301", "PatientName": "Seg^Pacs"}
    paths = write_dicom_series(Image(array, spacing=(2.0, 0.9, 0.9)), root / "ct", header=header)
    image = read_dicom(root / "ct")
    voxels = np.zeros(image.shape, bool)
    voxels[1:5, 4:16, 3:12] = True
    mask = Mask.like(image, voxels)
    seg = write_seg(mask, root / "ct", root / "out" / "seg.dcm", label="lesion")
    features = {"stat_mean": 12.345678901234567, "morph_volume": 388.8, "cm_joint_max_3D_avg": 0.03}
    codes = {"stat_mean": "Q4LE", "morph_volume": "RNU0", "cm_joint_max_3D_avg": "GYBY"}
    sr = write_feature_report(features, codes, root / "ct", root / "out" / "sr.dcm", seg=seg)
    study = str(image.meta["study_uid"])
    return root, paths, study, mask, features, seg, sr


@pytest.mark.parametrize("protocol", ["dicomweb", "dimse"])
def test_seg_and_sr_stored_and_read_back(pacs_env, outputs, tmp_path, capsys, protocol):
    from medscale.io import read_mask
    from medscale.io.dicom import read_dicom
    from medscale.io.sr import read_feature_report

    root, paths, study, mask, features, seg, sr = outputs
    code, out, err = _cli(capsys, "pacs", "put", str(root), "--protocol", protocol)
    assert code == 0, err
    assert f"{len(paths) + 2} instances stored" in out
    for get_protocol in ("dicomweb", "dimse"):
        out_dir = tmp_path / get_protocol
        code, out, err = _cli(
            capsys, "pacs", "get", study, "--out", str(out_dir), "--protocol", get_protocol
        )
        assert code == 0, err
        got = _by_sop(sorted((out_dir / study).iterdir()))
        seg_uid = str(pydicom.dcmread(seg).SOPInstanceUID)
        sr_uid = str(pydicom.dcmread(sr).SOPInstanceUID)
        assert set(got) == set(_by_sop(paths)) | {seg_uid, sr_uid}
        folder = out_dir / study
        images = [folder / f"{uid}.dcm" for uid in _by_sop(paths)]
        (tmp_path / f"ct-{get_protocol}").mkdir()
        for file in images:  # the image series alone (read_dicom skips SEG/SR anyway)
            shutil.copy(file, tmp_path / f"ct-{get_protocol}" / file.name)
        image = read_dicom(tmp_path / f"ct-{get_protocol}")
        back = read_mask(folder / f"{seg_uid}.dcm", reference=image)
        np.testing.assert_array_equal(back.array, mask.array)
        assert read_feature_report(folder / f"{sr_uid}.dcm") == features


@pytest.fixture(scope="module")
def phantom_dicom(shared_data):
    root = shared_data / "ibsi1/ct_phantom/dicom"
    if not root.is_dir():
        pytest.skip(f"{root} missing: medscale datasets fetch ibsi1")
    return root


@pytest.mark.parametrize("retrieval", RETRIEVALS)
def test_ibsi_phantom_and_rtstruct_round_trip(pacs_env, phantom_dicom, tmp_path, capsys, retrieval):
    protocol, *move = retrieval.split()
    from medscale.io.dicom import read_dicom
    from medscale.io.rtstruct import read_rtstruct_mask

    files = sorted(p for p in phantom_dicom.rglob("*.dcm"))
    originals = _by_sop(files)
    studies = {str(d.StudyInstanceUID) for d in originals.values()}
    code, out, err = _cli(capsys, "pacs", "put", str(phantom_dicom), "--protocol", protocol)
    assert code == 0, err
    assert f"{len(files)} instances stored" in out
    out_dir = tmp_path / "got"
    code, out, err = _cli(
        capsys,
        "pacs",
        "get",
        *sorted(studies),
        "--out",
        str(out_dir),
        "--protocol",
        protocol,
        *move,
    )
    assert code == 0, err
    got = sorted(out_dir.rglob("*.dcm"))
    copies = _by_sop(got)
    assert set(copies) == set(originals)
    rtstruct_uid = None
    for uid, original in originals.items():
        if "PixelData" in original:
            np.testing.assert_array_equal(copies[uid].pixel_array, original.pixel_array)
        else:
            rtstruct_uid = uid
            assert copies[uid].ROIContourSequence == original.ROIContourSequence
    assert rtstruct_uid is not None
    image = read_dicom(phantom_dicom / "image")
    copy_folder = tmp_path / "image"
    copy_folder.mkdir()
    for path in got:
        if path.stem != rtstruct_uid:
            shutil.copy(path, copy_folder / path.name)
    np.testing.assert_array_equal(read_dicom(copy_folder).array, image.array)
    original_mask = read_rtstruct_mask(next((phantom_dicom / "mask").glob("*.dcm")), image)
    copy_mask = read_rtstruct_mask(next(p for p in got if p.stem == rtstruct_uid), image)
    np.testing.assert_array_equal(copy_mask.array, original_mask.array)
