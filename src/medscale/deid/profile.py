"""Profile settings: which PS3.15 options apply, and the one action chosen per attribute.

Combined actions of Table E.1-1 depend on the attribute's type in each IOD, which a generic
tool does not know. medscale chooses, per combined code, the behaviour that leaks least while
keeping the file valid for any type:

=========  =============================================================================
code       medscale's choice
=========  =============================================================================
X/Z        Z: a zero-length value is valid for type 2 and type 3 and leaks nothing.
X/D, Z/D,  D: a dummy value keeps type 1 attributes valid; dummies carry no information.
X/Z/D      Sequences get Z (an empty sequence): no dummy item can be built generically.
X/Z/U*     keep the sequence and replace every UID inside it (the references stay valid).
=========  =============================================================================

``D`` on a sequence is also an empty sequence. Retained sequences (``K``, ``C``, ``U*`` and
sequences outside the table) are de-identified recursively.

Beyond the table, medscale treats these VRs as identifying wherever they occur (PS3.15 E.3.1
asks that attributes not in the table be handled when they may carry identifying data):
PN (emptied), DA, DT and TM (handled as the dates of the table: removed, or kept / shifted by
the temporal options) and UI (replaced as ``U`` unless it is a UID of the DICOM standard,
such as a SOP Class or Transfer Syntax UID).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from medscale.deid.profile_table import ProfileRule
from medscale.errors import ConfigError


class Option(StrEnum):
    """The PS3.15 options medscale implements (Table E.1-1 columns), by CLI name."""

    RETAIN_SAFE_PRIVATE = "retain-safe-private"
    RETAIN_UIDS = "retain-uids"
    RETAIN_DEVICE_IDENTITY = "retain-device-identity"
    RETAIN_INSTITUTION_IDENTITY = "retain-institution-identity"
    RETAIN_PATIENT_CHARACTERISTICS = "retain-patient-characteristics"
    RETAIN_FULL_DATES = "retain-full-dates"
    RETAIN_MODIFIED_DATES = "retain-modified-dates"
    CLEAN_DESCRIPTORS = "clean-descriptors"

    @property
    def key(self) -> str:
        """The option's column key in `medscale.deid.profile_table`."""
        return _OPTION_KEY[self]

    @property
    def code(self) -> str:
        """Its code in CID 7050 "De-identification Method" (coding scheme DCM)."""
        return _OPTION_CODE[self]

    @property
    def meaning(self) -> str:
        """The code meaning of `code`."""
        return _OPTION_MEANING[self]

    @classmethod
    def parse(cls, value: str | Option) -> Option:
        """Coerce a CLI string to an option; `ConfigError` naming the valid ones otherwise."""
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(option.value for option in cls)
            raise ConfigError(
                f"unknown de-identification option {value!r}; valid options: {valid}"
            ) from None


_OPTION_KEY = {
    Option.RETAIN_SAFE_PRIVATE: "S",
    Option.RETAIN_UIDS: "U",
    Option.RETAIN_DEVICE_IDENTITY: "D",
    Option.RETAIN_INSTITUTION_IDENTITY: "I",
    Option.RETAIN_PATIENT_CHARACTERISTICS: "P",
    Option.RETAIN_FULL_DATES: "F",
    Option.RETAIN_MODIFIED_DATES: "M",
    Option.CLEAN_DESCRIPTORS: "C",
}
_OPTION_CODE = {
    Option.RETAIN_SAFE_PRIVATE: "113111",
    Option.RETAIN_UIDS: "113110",
    Option.RETAIN_DEVICE_IDENTITY: "113109",
    Option.RETAIN_INSTITUTION_IDENTITY: "113112",
    Option.RETAIN_PATIENT_CHARACTERISTICS: "113108",
    Option.RETAIN_FULL_DATES: "113106",
    Option.RETAIN_MODIFIED_DATES: "113107",
    Option.CLEAN_DESCRIPTORS: "113105",
}
_OPTION_MEANING = {
    Option.RETAIN_SAFE_PRIVATE: "Retain Safe Private Option",
    Option.RETAIN_UIDS: "Retain UIDs Option",
    Option.RETAIN_DEVICE_IDENTITY: "Retain Device Identity Option",
    Option.RETAIN_INSTITUTION_IDENTITY: "Retain Institution Identity Option",
    Option.RETAIN_PATIENT_CHARACTERISTICS: "Retain Patient Characteristics Option",
    Option.RETAIN_FULL_DATES: "Retain Longitudinal Temporal Information Full Dates Option",
    Option.RETAIN_MODIFIED_DATES: "Retain Longitudinal Temporal Information Modified Dates Option",
    Option.CLEAN_DESCRIPTORS: "Clean Descriptors Option",
}
BASIC_PROFILE_CODE = ("113100", "Basic Application Confidentiality Profile")

# Options are applied in this order of precedence when several name one attribute (the most
# retaining wins, as PS3.15 E.1.1 says the options override the basic action).
_PRECEDENCE = ("K", "C", "U", "D", "Z", "X")


@dataclass(frozen=True)
class DeidSettings:
    """What to de-identify and how.

    Parameters
    ----------
    options : frozenset of Option
        PS3.15 options on top of the Basic Profile. The two temporal options exclude each
        other.
    safe_private : frozenset of (str, int)
        With `Option.RETAIN_SAFE_PRIVATE`: the private attributes to keep, as (private creator
        string, element byte ``0x00``-``0xFF``) pairs, e.g. ``("SIEMENS CT VA0  COAD", 0x10)``.
    max_date_shift_days : int
        With `Option.RETAIN_MODIFIED_DATES`: dates move back by a per-patient number of days in
        ``[1, max_date_shift_days]``, derived from the key and the original Patient ID.
    """

    options: frozenset[Option] = frozenset()
    safe_private: frozenset[tuple[str, int]] = field(default_factory=frozenset)
    max_date_shift_days: int = 3650

    def __post_init__(self) -> None:
        if {Option.RETAIN_FULL_DATES, Option.RETAIN_MODIFIED_DATES} <= self.options:
            raise ConfigError(
                "options retain-full-dates and retain-modified-dates exclude each other; choose one"
            )
        if not 1 <= self.max_date_shift_days <= 36500:
            raise ConfigError(
                f"max_date_shift_days must be in 1..36500, got {self.max_date_shift_days}"
            )

    @classmethod
    def from_names(cls, names: Iterable[str | Option], **kwargs: object) -> DeidSettings:
        """Settings from option names as given on the command line."""
        return cls(options=frozenset(Option.parse(name) for name in names), **kwargs)  # type: ignore[arg-type]

    @property
    def option_keys(self) -> frozenset[str]:
        """The table column keys of the chosen options."""
        return frozenset(option.key for option in self.options)

    def method_text(self) -> str:
        """The value of De-identification Method (0012,0063), at most 64 characters."""
        keys = "".join(sorted(self.option_keys))
        return f"medscale PS3.15 basic profile{' +' + keys if keys else ''}"[:64]


def resolve_action(rule: ProfileRule, option_keys: frozenset[str], *, is_sequence: bool) -> str:
    """The single action (``X``, ``Z``, ``D``, ``K``, ``C``, ``U`` or ``U*``) for one attribute.

    Parameters
    ----------
    rule : ProfileRule
        The attribute's row of Table E.1-1.
    option_keys : frozenset of str
        Column keys of the options in force (`DeidSettings.option_keys`).
    is_sequence : bool
        Whether the attribute is a sequence (VR SQ).

    Returns
    -------
    str
        One action; see the module docstring for how combined codes are resolved.
    """
    chosen = [rule.options[key] for key in option_keys if key in rule.options]
    if chosen:
        action = min(chosen, key=_PRECEDENCE.index)
    else:
        action = rule.basic
    if action == "X/Z/U*":
        return "U*"
    if action == "X/Z":
        return "Z"
    if action in {"X/D", "Z/D", "X/Z/D"}:
        return "Z" if is_sequence else "D"
    if action == "D" and is_sequence:
        return "Z"
    if action == "U" and is_sequence:
        return "U*"
    return action
