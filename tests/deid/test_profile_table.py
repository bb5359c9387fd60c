"""PS3.15 Table E.1-1 as data: coverage, spot checks against the standard, action choice."""

from __future__ import annotations

import pytest
from pydicom.datadict import dictionary_has_tag, keyword_for_tag

from medscale.deid import RULES, DeidSettings, Option, resolve_action
from medscale.deid.profile_table import GROUP_RULES, PRIVATE_RULE, is_curve_group, is_overlay_group
from medscale.errors import ConfigError

# (keyword, basic action, {option key: action}) as printed in PS3.15 Table E.1-1.
SPOT_CHECKS = [
    ("PatientName", "Z", {}),
    ("PatientID", "Z", {}),
    ("PatientBirthDate", "Z", {}),
    ("PatientSex", "Z", {"P": "K"}),
    ("PatientAge", "X", {"P": "K"}),
    ("AccessionNumber", "Z", {}),
    ("StudyDate", "Z", {"F": "K", "M": "C"}),
    ("AcquisitionDateTime", "X/Z/D", {"F": "K", "M": "C"}),
    ("SOPInstanceUID", "U", {"U": "K"}),
    ("FrameOfReferenceUID", "U", {"U": "K"}),
    ("ReferencedSOPInstanceUID", "U", {"U": "K"}),
    ("InstitutionName", "X/Z/D", {"I": "K"}),
    ("StationName", "X/Z/D", {"D": "K"}),
    ("DeviceSerialNumber", "X/Z/D", {"D": "K"}),
    ("StudyDescription", "X", {"C": "C"}),
    ("ReferencedImageSequence", "X/Z/U*", {"U": "K"}),
    ("ReferencedPatientSequence", "X", {"U": "X"}),
    ("ContentSequence", "D", {"T": "C"}),
    ("Allergies", "X", {"P": "C", "C": "C"}),
    ("OperatorsName", "X/Z/D", {}),
    ("ROIName", "Z", {"C": "C"}),
    ("OtherPatientIDsSequence", "X", {}),
    ("InstanceCreationDate", "X/D", {"F": "K", "M": "C"}),
    ("DateOfSecondaryCapture", "X", {"F": "K", "M": "C"}),
    ("StructureSetTime", "Z", {"F": "K", "M": "C"}),
]


def test_table_covers_the_standard_rows():
    assert len(RULES) >= 650
    known = [tag for tag in RULES if dictionary_has_tag(tag)]
    assert len(known) >= 625  # a few tags of the 2026 editions are newer than pydicom
    assert all(not RULES[tag].name.startswith("(") for tag in known)
    assert len(GROUP_RULES) == 3 and PRIVATE_RULE.basic == "X"


@pytest.mark.parametrize(("keyword", "basic", "options"), SPOT_CHECKS)
def test_rows_match_the_standard(keyword, basic, options):
    rule = next(r for tag, r in RULES.items() if keyword_for_tag(tag) == keyword)
    assert rule.basic == basic
    assert dict(rule.options) == options


def test_combined_codes_resolve_to_the_documented_choice():
    by_keyword = {keyword_for_tag(tag): rule for tag, rule in RULES.items()}
    basic = frozenset()
    assert resolve_action(by_keyword["AcquisitionDate"], basic, is_sequence=False) == "Z"
    assert resolve_action(by_keyword["SeriesDate"], basic, is_sequence=False) == "D"
    assert resolve_action(by_keyword["InstitutionName"], basic, is_sequence=False) == "D"
    assert resolve_action(by_keyword["InstitutionCodeSequence"], basic, is_sequence=True) == "Z"
    assert resolve_action(by_keyword["ReferencedImageSequence"], basic, is_sequence=True) == "U*"
    assert resolve_action(by_keyword["VerifyingObserverSequence"], basic, is_sequence=True) == "Z"
    # options override, the most retaining wins
    assert resolve_action(by_keyword["InstitutionName"], frozenset("I"), is_sequence=False) == "K"
    assert resolve_action(by_keyword["StudyDate"], frozenset("M"), is_sequence=False) == "C"
    assert resolve_action(by_keyword["DeviceUID"], frozenset("UD"), is_sequence=False) == "K"
    assert (
        resolve_action(by_keyword["ReferencedPatientSequence"], frozenset("U"), is_sequence=True)
        == "X"
    )


def test_repeating_groups():
    assert is_overlay_group(0x6000) and is_overlay_group(0x601E)
    assert not is_overlay_group(0x6001) and not is_overlay_group(0x6020)
    assert is_curve_group(0x5000) and not is_curve_group(0x5021)


def test_settings_validation_and_codes():
    settings = DeidSettings.from_names(["retain-modified-dates", "clean-descriptors"])
    assert settings.option_keys == frozenset("MC")
    assert Option.RETAIN_MODIFIED_DATES.code == "113107"
    assert len(settings.method_text()) <= 64
    with pytest.raises(ConfigError, match="valid options"):
        DeidSettings.from_names(["retain-everything"])
    with pytest.raises(ConfigError, match="exclude each other"):
        DeidSettings.from_names(["retain-full-dates", "retain-modified-dates"])


def test_table_is_package_data_with_one_rule_per_row():
    import csv
    from importlib import resources

    from medscale.deid import profile_table

    text = resources.files("medscale.deid").joinpath(profile_table.TABLE_FILE).read_text()
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == len(RULES) == 656
    counts = {s: sum(r["source"] == s for r in rows) for s in profile_table.SOURCES}
    assert counts == {"E.1-1": 456, "later edition": 196, "medscale": 4}
    assert RULES[0x00100010].basic == "Z" and RULES[0x00100024].basic == "X"  # E.1-1, medscale


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("00100010,Q,,E.1-1", "unknown action 'Q'"),
        ("00100010,Z,W=K,E.1-1", "unknown option"),
        ("00100010,Z,,guess", "unknown source"),
        ("00100010,Z,,E.1-1\n00100010,X,,E.1-1", "appears twice"),
    ],
)
def test_bad_rows_are_refused(row, problem):
    from medscale.deid.profile_table import _parse

    with pytest.raises(ValueError, match=f"row 00100010: {problem}|row 00100010 {problem}"):
        _parse("tag,basic,options,source\n" + row)
