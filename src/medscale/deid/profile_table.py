"""DICOM PS3.15 Annex E, Table E.1-1, encoded as data.

Every attribute of the Application Level Confidentiality Profile table with its action under
the Basic Profile and under each option, transcribed from PS3.15 Table E.1-1 (the
machine-readable copy of the table parsed from the standard in ``innolitics/dicom-standard``,
``standard/confidentiality_profile_attributes.json``), completed with the rows of later
editions (``source`` = ``later edition`` below) and cross-checked against the 2023 and 2026c
tag lists of the dicom-anonymizer package: every tag of those lists is here, and where an
action differs the newer edition's is used (Structure Set Time, Treatment Machine Name,
Treatment Site).
Attribute names come from pydicom's data dictionary (tags it does not know yet are named by
their number).

Action codes (PS3.15 E.1.1):

- ``D``: replace with a non-zero-length dummy value consistent with the VR;
- ``Z``: replace with a zero-length value, or a dummy;
- ``X``: remove;
- ``K``: keep (unchanged for non-sequences, cleaned for sequences);
- ``C``: clean (keep the value with identifying information replaced);
- ``U``: replace with a non-zero-length UID that is internally consistent within a set of
  instances;
- combined codes ``X/Z``, ``X/D``, ``Z/D``, ``X/Z/D``, ``X/Z/U*``: the choice depends on the
  attribute's type in the IOD; see `medscale.deid.profile.resolve_action` for the choice made.

Option columns (one letter each in the table below):

=====  ===========================================================  =================
key    option (PS3.15 Table E.1-1 column)                            CID 7050 code
=====  ===========================================================  =================
``S``  Retain Safe Private Option                                    113111
``U``  Retain UIDs Option                                            113110
``D``  Retain Device Identity Option                                 113109
``I``  Retain Institution Identity Option                            113112
``P``  Retain Patient Characteristics Option                         113108
``F``  Retain Longitudinal Temporal Information Full Dates Option    113106
``M``  Retain Longitudinal Temporal Information Modified Dates       113107
``C``  Clean Descriptors Option                                      113105
``T``  Clean Structured Content Option                               113104
``G``  Clean Graphics Option                                         113103
=====  ===========================================================  =================

The rows live in ``profile_table.csv`` next to this module (package data, read with
`importlib.resources`): columns ``tag`` (group and element, 8 hex digits), ``basic`` (the Basic
Profile action), ``options`` (space-separated ``key=action`` pairs) and ``source``:

- ``E.1-1``: a row of the table as transcribed;
- ``later edition``: rows added by later editions (mostly dates and times, CP-2xxx series) and
  missing from that copy, taken from the 2026c edition as listed by the dicom-anonymizer
  package (``dicom_anonymization_databases/dicomfields_2026c.py``), which carries the basic
  action only. Option columns are inferred, never more permissive than the standard's: dates
  and times get the two temporal options (as every date and time of the table has), UIDs the
  Retain UIDs option; all other options are left out, so those attributes stay removed under
  options that would keep or clean them in the standard;
- ``medscale``: not rows of Table E.1-1: patient identifiers medscale removes all the same.

Rows for repeating groups (curves ``50xx,xxxx``, overlays ``60xx,3000`` and ``60xx,4000``)
and for private attributes are kept apart in `GROUP_RULES` and `PRIVATE_RULE`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from pydicom.datadict import dictionary_description, dictionary_has_tag

TABLE_FILE = "profile_table.csv"
SOURCES = frozenset({"E.1-1", "later edition", "medscale"})

OPTION_KEYS = frozenset("SUDIPFMCTG")
ACTION_CODES = frozenset({"D", "Z", "X", "K", "C", "U", "X/Z", "X/D", "Z/D", "X/Z/D", "X/Z/U*"})


@dataclass(frozen=True)
class ProfileRule:
    """One row of Table E.1-1.

    Attributes
    ----------
    tag : int
        The attribute tag as ``0xGGGGEEEE`` (for repeating groups: the first group).
    name : str
        The attribute name (pydicom's data dictionary).
    basic : str
        The action under the Basic Profile (``X``, ``Z``, ``D``, ``U``, ``X/Z`` ...).
    options : Mapping[str, str]
        Option key (see the module docstring) -> action under that option.
    """

    tag: int
    name: str
    basic: str
    options: MappingProxyType[str, str]


def _parse(text: str) -> dict[int, ProfileRule]:
    """Rules from the CSV text of `TABLE_FILE` (ValueError naming the row on a bad one)."""
    rules: dict[int, ProfileRule] = {}
    for row in csv.DictReader(text.splitlines()):
        tag_hex, basic, option_fields = row["tag"], row["basic"], row["options"].split()
        if row["source"] not in SOURCES:
            raise ValueError(f"Table E.1-1 row {tag_hex}: unknown source {row['source']!r}")
        tag = int(tag_hex, 16)
        if basic not in ACTION_CODES:
            raise ValueError(f"Table E.1-1 row {tag_hex}: unknown action {basic!r}")
        options = dict(field.split("=") for field in option_fields)
        if not set(options) <= OPTION_KEYS:
            raise ValueError(f"Table E.1-1 row {tag_hex}: unknown option in {option_fields}")
        name = dictionary_description(tag) if dictionary_has_tag(tag) else f"({tag_hex})"
        if tag in rules:
            raise ValueError(f"Table E.1-1 row {tag_hex} appears twice")
        rules[tag] = ProfileRule(tag, name, basic, MappingProxyType(options))
    return rules


#: tag -> rule, for every attribute row of Table E.1-1 with a fixed tag.
RULES: MappingProxyType[int, ProfileRule] = MappingProxyType(
    _parse(resources.files("medscale.deid").joinpath(TABLE_FILE).read_text(encoding="utf-8"))
)

#: Repeating-group rows: (group mask, element or None for any) -> rule.
#: Curve Data (50xx,xxxx), Overlay Data (60xx,3000) and Overlay Comments (60xx,4000).
#: medscale removes every element of the curve and overlay groups, not only these.
GROUP_RULES: tuple[ProfileRule, ...] = (
    ProfileRule(0x50000000, "Curve Data", "X", MappingProxyType({"G": "C"})),
    ProfileRule(0x60003000, "Overlay Data", "X", MappingProxyType({"G": "C"})),
    ProfileRule(0x60004000, "Overlay Comments", "X", MappingProxyType({"G": "C"})),
)

#: Private attributes (odd groups): removed; kept by the Retain Safe Private Option when safe.
PRIVATE_RULE = ProfileRule(0x00090000, "Private attributes", "X", MappingProxyType({"S": "C"}))


def is_curve_group(group: int) -> bool:
    """True for the repeating curve groups 5000-501E (even), PS3.3 C.10.2 (retired)."""
    return 0x5000 <= group <= 0x501E and group % 2 == 0


def is_overlay_group(group: int) -> bool:
    """True for the repeating overlay groups 6000-601E (even), PS3.3 C.9."""
    return 0x6000 <= group <= 0x601E and group % 2 == 0
