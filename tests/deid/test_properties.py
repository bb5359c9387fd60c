"""Invariants over random data sets: whatever table attributes a file holds, and however
deeply they are nested, nothing planted survives and the output conforms to the profile."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.datadict import dictionary_has_tag, dictionary_VR
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from medscale.datasets.phi_corpus import plant_phi
from medscale.deid import RULES, Pseudonymizer, deidentify_dataset
from medscale.deid.verify import ValueIndex, check_dataset

PSEUDO = Pseudonymizer(bytes(range(32)))
TEXT_VRS = {"LO", "SH", "PN", "LT", "ST", "UT", "UC", "CS", "AE"}
TEXT_TAGS = sorted(
    tag
    for tag in RULES
    if dictionary_has_tag(tag) and tag >> 16 > 2 and dictionary_VR(tag) in TEXT_VRS
)


def _value(vr: str, marker: str) -> str:
    return marker[:16] if vr in {"SH", "CS", "AE"} else f"{marker} text"


@settings(max_examples=40, deadline=None)
@given(
    tags=st.lists(st.sampled_from(TEXT_TAGS), min_size=1, max_size=25, unique=True),
    depth=st.integers(min_value=0, max_value=3),
    seed=st.integers(0, 10_000),
)
def test_planted_text_never_survives(tags, depth, seed):
    root = Dataset()
    root.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    root.SOPInstanceUID = f"1.2.999.{seed}"
    root.PatientID = f"ID{seed:05d}X"
    holder = root
    for level in range(depth):  # sequences outside the table, nested `depth` deep
        item = Dataset()
        holder.add_new(0x00081250 if level % 2 == 0 else 0x0040A170, "SQ", Sequence([item]))
        holder = item
    markers = []
    for number, tag in enumerate(tags):
        marker = f"Z{seed:05d}Q{number:02d}"
        markers.append(marker)
        holder.add_new(tag, dictionary_VR(tag), _value(dictionary_VR(tag), marker))
    out, _ = deidentify_dataset(root, pseudonymizer=PSEUDO)
    out.file_meta = FileMetaDataset()
    out.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    out.save_as(buffer, enforce_file_format=True)
    assert ValueIndex(markers + [root.PatientID]).search(buffer.getvalue()) == set()
    assert check_dataset(out, file="x") == []


@settings(max_examples=10, deadline=None)
@given(patient=st.integers(0, 9))
def test_fully_planted_data_sets_conform(patient):
    dataset = Dataset()
    dataset.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    seeded = plant_phi(dataset, patient=patient)
    out, result = deidentify_dataset(dataset, pseudonymizer=PSEUDO)
    assert check_dataset(out, file="x") == []
    out.file_meta = FileMetaDataset()
    out.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    out.save_as(buffer, enforce_file_format=True)
    assert ValueIndex(v for v in seeded if len(v) >= 4).search(buffer.getvalue()) == set()
    assert result.actions["removed"] > 300
