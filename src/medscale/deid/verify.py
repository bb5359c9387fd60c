"""Scan a de-identified folder for residual identifiers.

Two independent checks, so that a fault in one is caught by the other:

1. **Known values** (``--phi-list``): every file's raw bytes (DICOM or not: the audit table
   too) are searched, case-insensitively, for each listed original value (names, IDs, dates,
   UIDs ...). This does not rely on parsing, so values hidden in private or unknown elements,
   padding or odd encodings are found as well.
2. **Profile conformance** of each DICOM file, with the options it declares in its
   De-identification Method Code Sequence: attributes that Table E.1-1 removes or empties
   still holding a value, person names, dates and UIDs that are not replaced, private
   attributes, overlays and curves, and a missing Patient Identity Removed = YES.

Findings name the file, the tag and the kind of problem, never the value found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import UID_dictionary

from medscale.deid.batch import AUDIT_NAME, SUMMARY_NAME
from medscale.deid.profile import BASIC_PROFILE_CODE, Option, resolve_action
from medscale.deid.profile_table import RULES, is_curve_group, is_overlay_group
from medscale.deid.reading import NotDicomError, TruncatedDicomError, read_dicom_bytes

#: Values shorter than this are not searched in raw bytes (they match by chance).
MIN_SEARCH_LENGTH = 4
_PSEUDONYM = re.compile(r"^(MS[0-9A-Z]{20}|ANON\^[0-9A-Z]{12}|ANONYMOUS|ANONYMIZED)$")
_DUMMY_DATES = {"19000101", "19000101000000", "000000"}
_CODE_TO_KEY = {option.code: option.key for option in Option}


@dataclass(frozen=True)
class Finding:
    """One residual identifier.

    Attributes
    ----------
    file : str
        Path relative to the scanned folder.
    tag : str
        ``(GGGG,EEEE)``, or empty for raw-byte findings.
    kind : str
        ``known_value``, ``not_marked``, ``should_be_removed``, ``should_be_empty``,
        ``person_name``, ``date``, ``uid_not_replaced``, ``private``, ``overlay_curve``,
        ``unreadable``.
    detail : str
        Which phi-list line matched, or the attribute name; never the value.
    """

    file: str
    tag: str
    kind: str
    detail: str


def read_phi_list(path: str | Path) -> list[str]:
    """Known original values, one per line (blank lines and ``#`` comments ignored)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


RUN_RECORDS = frozenset({AUDIT_NAME, SUMMARY_NAME})
"""What `medscale.deid.deidentify_tree` writes beside the files (no identifiers, by design)."""


@dataclass(frozen=True)
class TreeCheck:
    """What `check_tree` found in a folder, and what it could check."""

    findings: list[Finding]
    dicom_files: int
    """Files read as DICOM and checked attribute by attribute."""
    other_files: list[str]
    """Files that are not DICOM: searched for the known values only (relative paths). The
    records a de-identification run writes at the top of its folder are not listed."""


def verify_tree(folder: str | Path, *, phi_values: Iterable[str] = ()) -> list[Finding]:
    """Every residual identifier in the files under `folder` (empty list: nothing found).

    Parameters
    ----------
    folder : str or Path
        A de-identified folder (e.g. the output of `medscale.deid.deidentify_tree`).
    phi_values : iterable of str
        Known original values to search for in the raw bytes of every file
        (case-insensitive; values shorter than `MIN_SEARCH_LENGTH` are skipped).

    Returns
    -------
    list of Finding
    """
    return check_tree(folder, phi_values=phi_values).findings


def check_tree(folder: str | Path, *, phi_values: Iterable[str] = ()) -> TreeCheck:
    """`verify_tree`, also saying how many files were DICOM and which were not.

    A file that is not DICOM (a CSV, a PNG, a report) can still hold identifiers that no
    attribute check sees: only the known-value search covers it, so the caller should say so.
    """
    folder = Path(folder)
    values = sorted({value for value in phi_values if len(value) >= MIN_SEARCH_LENGTH})
    index = ValueIndex(values)
    numbers = {value: n for n, value in enumerate(values, 1)}
    findings: list[Finding] = []
    dicom_files = 0
    other_files: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        data = path.read_bytes()
        for found in sorted(index.search(data), key=numbers.__getitem__):
            findings.append(
                Finding(relative, "", "known_value", f"phi-list value #{numbers[found]}")
            )
        try:
            dataset = read_dicom_bytes(data, name=relative)
        except NotDicomError:
            if relative not in RUN_RECORDS:
                other_files.append(relative)
            continue
        except TruncatedDicomError:
            findings.append(Finding(relative, "", "unreadable", "truncated DICOM file"))
            continue
        dicom_files += 1
        findings.extend(check_dataset(dataset, file=relative))
    return TreeCheck(findings, dicom_files, other_files)


class ValueIndex:
    """Case-insensitive search of many values at once in raw bytes, vectorised with NumPy.

    Each value is searched as UTF-8 and as Latin-1 (ISO_IR 100, the usual single-byte DICOM
    character set), as given and lower-cased. Every encoded variant is keyed by its first 4
    bytes (8 for variants of 8 bytes or more); each window of the lower-cased data is
    compared with all keys at once (`numpy.isin`), and only the rare candidate positions are
    compared in full.

    Parameters
    ----------
    values : iterable of str
        Values of at least 4 characters.
    """

    def __init__(self, values: Iterable[str]) -> None:
        self._by_width: dict[int, dict[int, list[tuple[bytes, str]]]] = {4: {}, 8: {}}
        for value in values:
            for variant in _variants(value):
                width = 8 if len(variant) >= 8 else 4
                key = int.from_bytes(variant[:width], "little")
                self._by_width[width].setdefault(key, []).append((variant, value))

    def search(self, data: bytes) -> set[str]:
        """The values that occur in `data`."""
        lowered = data.lower()
        array = np.frombuffer(lowered, dtype=np.uint8)
        found: set[str] = set()
        for width, table in self._by_width.items():
            if not table or len(array) < width:
                continue
            windows = np.zeros(len(array) - width + 1, dtype=np.uint64)
            for offset in range(width):
                windows |= array[offset : len(array) - width + 1 + offset].astype(np.uint64) << (
                    np.uint64(8 * offset)
                )
            keys = np.fromiter(table, dtype=np.uint64, count=len(table))
            for position in np.flatnonzero(np.isin(windows, keys)):
                for variant, value in table[int(windows[position])]:
                    if lowered.startswith(variant, int(position)):
                        found.add(value)
        return found


def _variants(value: str) -> set[bytes]:
    """Byte forms of `value` (as given, lower, upper case; UTF-8, Latin-1), ASCII-lowered."""
    forms = set()
    for text in (value, value.lower(), value.upper()):
        for encoding in ("utf-8", "latin-1"):
            try:
                forms.add(text.encode(encoding).lower())
            except UnicodeEncodeError:
                continue
    return forms


def check_dataset(dataset: Dataset, *, file: str) -> list[Finding]:
    """Profile-conformance findings for one data set (see the module docstring)."""
    findings: list[Finding] = []
    if str(dataset.get("PatientIdentityRemoved", "")).upper() != "YES":
        findings.append(
            Finding(file, "(0012,0062)", "not_marked", "Patient Identity Removed is not YES")
        )
    codes = {
        str(item.get("CodeValue", ""))
        for item in dataset.get("DeidentificationMethodCodeSequence", [])
    }
    keys = frozenset(_CODE_TO_KEY[code] for code in codes if code in _CODE_TO_KEY)
    if BASIC_PROFILE_CODE[0] not in codes:
        findings.append(
            Finding(
                file,
                "(0012,0064)",
                "not_marked",
                "no Basic Profile code in De-identification Method Codes",
            )
        )
    _check_items(dataset, keys, file, findings, top_level=True)
    return findings


def _check_items(
    dataset: Dataset, keys: frozenset[str], file: str, findings: list[Finding], *, top_level: bool
) -> None:
    for element in dataset:
        tag = int(element.tag)
        where = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
        group = tag >> 16
        if group % 2 == 1:
            if "S" not in keys:
                findings.append(Finding(file, where, "private", "private attribute"))
            continue
        if is_curve_group(group) or is_overlay_group(group):
            findings.append(Finding(file, where, "overlay_curve", "overlay or curve"))
            continue
        if element.VR == "SQ":
            _check_sequence(element, tag, keys, file, findings, where)
            continue
        if element.value in (None, "", b"") or tag == 0x7FE00010:
            continue
        kind = _residual_kind(element, tag, keys, top_level=top_level)
        if kind:
            findings.append(Finding(file, where, kind, element.name))


def _check_sequence(
    element: object, tag: int, keys: frozenset[str], file: str, findings: list[Finding], where: str
) -> None:
    rule = RULES.get(tag)
    action = resolve_action(rule, keys, is_sequence=True) if rule else "K"
    items = element.value  # type: ignore[attr-defined]
    if action in {"X", "Z"} and len(items):
        kind = "should_be_removed" if action == "X" else "should_be_empty"
        findings.append(Finding(file, where, kind, element.name))  # type: ignore[attr-defined]
        return
    for item in items:
        _check_items(item, keys, file, findings, top_level=False)


def _residual_kind(element: object, tag: int, keys: frozenset[str], *, top_level: bool) -> str:
    vr = element.VR  # type: ignore[attr-defined]
    value = element.value  # type: ignore[attr-defined]
    texts = [str(v) for v in value] if element.VM > 1 else [str(value)]  # type: ignore[attr-defined]
    rule = RULES.get(tag)
    if top_level and tag in (0x00100010, 0x00100020):
        return "" if all(_PSEUDONYM.match(text) for text in texts) else "should_be_empty"
    if rule is not None:
        action = resolve_action(rule, keys, is_sequence=False)
        if action == "X":
            return "should_be_removed"
        if action == "Z":
            return "should_be_empty"
        if action == "U" and not all(text.startswith("2.25.") for text in texts):
            return "uid_not_replaced"
        if action in {"K", "C"}:
            return ""
    if vr == "PN" and not all(_PSEUDONYM.match(text) for text in texts):
        return "person_name"
    if vr in {"DA", "DT"} and not keys & {"F", "M"}:
        return "" if all(text in _DUMMY_DATES for text in texts) else "date"
    if vr == "UI" and "U" not in keys:
        foreign = [t for t in texts if t not in UID_dictionary and not t.startswith("2.25.")]
        return "uid_not_replaced" if foreign else ""
    return ""


@dataclass(frozen=True)
class ReferenceCheck:
    """How many UID references inside a folder's files point to something in the folder.

    Attributes
    ----------
    n_references : int
        Nested references seen: Referenced SOP Instance UID, Series / Study Instance UID and
        (Referenced) Frame of Reference UID inside sequences.
    n_resolved : int
        Those equal to the top-level UID of some file of the folder (instance, series,
        study or frame of reference, by kind).
    """

    n_references: int
    n_resolved: int


_REFERENCE_KINDS = {
    0x00081155: "instance",
    0x0020000E: "series",
    0x0020000D: "study",
    0x00200052: "frame",
    0x30060024: "frame",
}
_TOP_LEVEL_KINDS = {
    0x00080018: "instance",
    0x0020000E: "series",
    0x0020000D: "study",
    0x00200052: "frame",
}


def check_references(folder: str | Path) -> ReferenceCheck:
    """Count the nested UID references of the DICOM files under `folder` that resolve.

    De-identification must not break a link: the same folder before and after must give the
    same `n_resolved` (references to files outside the folder never resolve, before or after;
    `n_references` drops when the profile removes sequences that held references).
    A Referenced SOP Instance UID may name an instance or, as RT structure sets do for their
    study, a study.
    """
    targets: dict[str, set[str]] = {
        kind: set() for kind in ("instance", "series", "study", "frame")
    }
    references: list[tuple[str, str]] = []
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file():
            continue
        try:
            dataset = read_dicom_bytes(path.read_bytes(), name=path.name)
        except (NotDicomError, TruncatedDicomError):
            continue
        for tag, kind in _TOP_LEVEL_KINDS.items():
            if tag in dataset:
                targets[kind].add(str(dataset[tag].value))
        for element in dataset:
            if element.VR == "SQ":
                references.extend(_nested_references(element.value))
    resolved = sum(
        1
        for kind, uid in references
        if uid in targets[kind] or (kind == "instance" and uid in targets["study"])
    )
    return ReferenceCheck(n_references=len(references), n_resolved=resolved)


def _nested_references(items: Iterable[Dataset]) -> list[tuple[str, str]]:
    found = []
    for item in items:
        for element in item:
            kind = _REFERENCE_KINDS.get(int(element.tag))
            if kind and element.value:
                found.append((kind, str(element.value)))
            elif element.VR == "SQ":
                found.extend(_nested_references(element.value))
    return found
