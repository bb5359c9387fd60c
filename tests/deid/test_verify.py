"""verify: it finds what is left, and its raw search agrees with a plain one."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from medscale.datasets.phi_corpus import build_synthetic_phi_corpus
from medscale.deid import deidentify_tree, read_phi_list, verify_tree
from medscale.deid.verify import ValueIndex

KEY = bytes(range(32))


@pytest.fixture(scope="module")
def deidentified(tmp_path_factory):
    root = tmp_path_factory.mktemp("verify")
    corpus = build_synthetic_phi_corpus(root / "in")
    deidentify_tree(root / "in", root / "out", key=KEY)
    return root, corpus


def test_value_index_matches_plain_search():
    rng = np.random.default_rng(3)
    values = ["Doe^Jane", "MRN-0042", "19610203", "abcd", "ABCDEFGHIJ", "1.2.840.99.1"]
    for trial in range(30):
        data = bytearray(rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
        for value in rng.choice(values, size=trial % 4, replace=False):
            position = int(rng.integers(0, 3900))
            data[position : position + len(value)] = value.upper().encode()
        data = bytes(data)
        expected = {v for v in values if v.lower().encode() in data.lower()}
        assert ValueIndex(values).search(data) == expected


def test_value_index_finds_non_ascii_names_in_utf8_and_latin1():
    index = ValueIndex(["Müller^Zoë", "ÉLODIE"])
    assert index.search(b"xx" + "MÜLLER^ZOË".encode()) == {"Müller^Zoë"}
    assert index.search(b"\0" + "Müller^Zoë".encode("latin-1") + b"\0") == {"Müller^Zoë"}
    assert index.search("élodie".encode("latin-1")) == {"ÉLODIE"}
    assert index.search(b"Muller^Zoe Elodie") == set()


def test_residual_identifiers_are_found(deidentified, tmp_path):
    root, corpus = deidentified
    phi_file = corpus.write_phi_list(tmp_path / "phi.txt")
    assert read_phi_list(phi_file) == list(corpus.seeded_values)
    path = next((root / "out").rglob("*.dcm"))
    ds = pydicom.dcmread(path)
    ds.OperatorsName = "Leaked^Operator"  # a PN the profile dummies
    ds.add_new(0x00101040, "LO", "1 High Street")  # Patient's Address: X
    ds.add_new(0x00291010, "LO", "private")  # a private tag
    ds.StudyInstanceUID = "1.2.3.4.5"  # an original UID
    ds.AcquisitionDate = "20240101"
    ds.save_as(tmp_path / "bad.dcm")
    (tmp_path / "notes.txt").write_text(f"see {corpus.seeded_values[10]}")
    findings = verify_tree(tmp_path, phi_values=corpus.seeded_values)
    kinds = {(f.file, f.tag, f.kind) for f in findings}
    assert ("bad.dcm", "(0008,1070)", "person_name") in kinds
    assert ("bad.dcm", "(0010,1040)", "should_be_removed") in kinds
    assert ("bad.dcm", "(0029,1010)", "private") in kinds
    assert ("bad.dcm", "(0020,000D)", "uid_not_replaced") in kinds
    assert ("bad.dcm", "(0008,0022)", "should_be_empty") in kinds
    assert ("notes.txt", "", "known_value") in kinds
    assert all("Leaked" not in f.detail and "High" not in f.detail for f in findings)


def test_unmarked_files_are_reported(tmp_path):
    ds = pydicom.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"  # Basic Text SR: no pixels
    ds.SOPInstanceUID = "2.25.1"
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.save_as(tmp_path / "plain.dcm", enforce_file_format=True)
    kinds = {f.kind for f in verify_tree(tmp_path)}
    assert kinds == {"not_marked"}
