"""Replacement values of the PS3.15 actions: VR-consistent dummies (D) and the clean (C) scrub.

`dummy_value` gives the non-zero-length dummy of a VR; `scrub_pattern` collects a data set's
own identifying strings (those the profile removes, empties or dummies, and the patient's
name and ID) into one pattern, so that the clean action can blank them inside free text.
"""

from __future__ import annotations

import re

from pydicom.dataset import Dataset

from medscale.deid.profile import DeidSettings, Option, resolve_action
from medscale.deid.profile_table import RULES

PATIENT_ID = 0x00100020
PATIENT_NAME = 0x00100010
STRING_VRS = {
    "AE",
    "AS",
    "CS",
    "DA",
    "DS",
    "DT",
    "IS",
    "LO",
    "LT",
    "PN",
    "SH",
    "ST",
    "TM",
    "UC",
    "UI",
    "UR",
    "UT",
}
TEXT_DUMMY = "ANONYMIZED"
DUMMY_BY_VR: dict[str, object] = {
    "PN": "ANONYMOUS",
    "DA": "19000101",
    "TM": "000000",
    "DT": "19000101000000",
    "AS": "000D",
    "IS": "0",
    "DS": "0",
    "UR": "urn:dummy",
    "US": 0,
    "SS": 0,
    "UL": 0,
    "SL": 0,
    "UV": 0,
    "SV": 0,
    "FL": 0.0,
    "FD": 0.0,
    "AT": 0,
    "OB": b"\0\0",
    "OW": b"\0\0",
    "OF": b"\0\0\0\0",
    "OD": b"\0" * 8,
    "OL": b"\0\0\0\0",
    "OV": b"\0" * 8,
    "UN": b"\0\0",
}


def dummy_value(vr: str) -> object:
    """The dummy (D action) for a value representation; ``ANONYMIZED`` for other text VRs."""
    return DUMMY_BY_VR.get(vr, TEXT_DUMMY)


def needs_scrub(settings: DeidSettings) -> bool:
    """Whether the options ask for the clean (C) action on text (descriptors, characteristics)."""
    return bool(
        {Option.CLEAN_DESCRIPTORS, Option.RETAIN_PATIENT_CHARACTERISTICS} & settings.options
    )


def scrub_pattern(dataset: Dataset, settings: DeidSettings) -> re.Pattern[str] | None:
    """A pattern of this data set's own identifying strings, for the clean (C) action."""
    tokens: set[str] = set()
    for element in dataset:
        rule = RULES.get(int(element.tag))
        if element.VR not in STRING_VRS or element.VR == "UI" or element.value in (None, ""):
            continue
        action = resolve_action(rule, settings.option_keys, is_sequence=False) if rule else None
        if action not in {"X", "Z", "D"} and int(element.tag) not in {PATIENT_ID, PATIENT_NAME}:
            continue
        values = element.value if element.VM > 1 else [element.value]
        for value in values:
            text = str(value)
            parts = re.split(r"[\^= ]+", text) if element.VR == "PN" else [text.strip()]
            tokens.update(part for part in parts if len(part.strip()) >= 2)
    if not tokens:
        return None
    alternation = "|".join(re.escape(token) for token in sorted(tokens, key=len, reverse=True))
    return re.compile(alternation, re.IGNORECASE)
