"""De-identify one DICOM data set: the PS3.15 Basic Profile, its options and keyed pseudonyms.

The walk visits every element, recursively inside sequences, and applies the single action
that `medscale.deid.profile.resolve_action` chooses for it. Pixel Data is never touched.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from dataclasses import dataclass, field

from pydicom.datadict import dictionary_has_tag, dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID_dictionary

from medscale.deid.keys import Pseudonymizer, shift_date, shift_datetime
from medscale.deid.profile import BASIC_PROFILE_CODE, DeidSettings, Option, resolve_action
from medscale.deid.profile_table import (
    PRIVATE_RULE,
    RULES,
    ProfileRule,
    is_curve_group,
    is_overlay_group,
)
from medscale.deid.replacement import (
    PATIENT_ID,
    PATIENT_NAME,
    STRING_VRS,
    dummy_value,
    needs_scrub,
    scrub_pattern,
)
from medscale.deid.review import review_reasons

PIXEL_DATA = 0x7FE00010
_KEEP_ALWAYS = {PIXEL_DATA, 0x00080016}  # Pixel Data, SOP Class UID
_OUTSIDE_TABLE_VRS = {"SQ", "PN", "DA", "DT", "TM", "UI"}  # the VRs handled outside the table

#: Action names used as counter keys in `DatasetResult.actions` and the audit table.
ACTION_NAMES = {
    "X": "removed",
    "Z": "emptied",
    "D": "dummied",
    "K": "kept",
    "C": "cleaned",
    "U": "uid_replaced",
    "U*": "sequence_uids_replaced",
}


@dataclass
class DatasetResult:
    """What de-identifying one data set did.

    Attributes
    ----------
    actions : Counter
        Number of elements per action (``removed``, ``emptied``, ``dummied``, ``cleaned``,
        ``uid_replaced``, ``date_shifted``, ``pseudonymized``, ``private_removed``,
        ``overlay_curve_removed``, ...). Never the values.
    review : tuple of str
        Why the pixels may hold burned-in identifying text (empty when no reason is known).
    """

    actions: Counter[str] = field(default_factory=Counter)
    review: tuple[str, ...] = ()


@dataclass
class _Context:
    pseudonymizer: Pseudonymizer
    settings: DeidSettings
    option_keys: frozenset[str]
    patient_key: str
    shift_days: int
    scrub: re.Pattern[str] | None
    actions: Counter[str] = field(default_factory=Counter)


def deidentify_dataset(
    dataset: Dataset,
    *,
    pseudonymizer: Pseudonymizer,
    settings: DeidSettings | None = None,
    in_place: bool = False,
) -> tuple[Dataset, DatasetResult]:
    """Apply the PS3.15 Basic Profile (plus `settings.options`) to one data set.

    Parameters
    ----------
    dataset : pydicom.Dataset
        The data set, with its ``file_meta`` when read from a file.
    pseudonymizer : Pseudonymizer
        Keyed replacements for Patient ID / Name, UIDs and date shifts.
    settings : DeidSettings, optional
        Options of the profile (default: the Basic Profile alone).
    in_place : bool
        Change `dataset` itself instead of a deep copy (faster for large pixel data).

    Returns
    -------
    (pydicom.Dataset, DatasetResult)
        The de-identified data set and the counts of actions applied.

    Notes
    -----
    Patient ID and Patient's Name (top level) get keyed pseudonyms
    (`Pseudonymizer.patient_id`, `Pseudonymizer.patient_name`); every UID to replace becomes
    `Pseudonymizer.uid` of the original, so references between files stay consistent.
    Patient Identity Removed (0012,0062) is set to ``YES``, De-identification Method
    (0012,0063) and its Code Sequence (0012,0064) name the profile and options (CID 7050), and
    Longitudinal Temporal Information Modified (0028,0303) says what happened to dates.

    References
    ----------
    DICOM PS3.15 Annex E; PS3.3 C.12.1 (SOP Common Module).
    """
    settings = settings if settings is not None else DeidSettings()
    target = dataset if in_place else copy.deepcopy(dataset)
    review = review_reasons(target)
    patient_key = patient_key_of(target)
    context = _Context(
        pseudonymizer=pseudonymizer,
        settings=settings,
        option_keys=settings.option_keys,
        patient_key=patient_key,
        shift_days=pseudonymizer.date_shift_days(
            patient_key, max_days=settings.max_date_shift_days
        ),
        scrub=scrub_pattern(target, settings) if needs_scrub(settings) else None,
    )
    _walk(target, context, top_level=True)
    _mark(target, settings, context)
    return target, DatasetResult(actions=context.actions, review=review)


def patient_key_of(dataset: Dataset) -> str:
    """The original identity that pseudonyms and date shifts derive from.

    Patient ID; without one, the Patient's Name; without either, the Study Instance UID (each
    study is then its own pseudonymous patient).
    """
    for keyword, prefix in (
        ("PatientID", ""),
        ("PatientName", "name:"),
        ("StudyInstanceUID", "study:"),
    ):
        value = str(dataset.get(keyword, "") or "").strip()
        if value:
            return prefix + value
    return ""


def _walk(dataset: Dataset, context: _Context, *, top_level: bool) -> None:
    private_groups: set[int] = set()
    for tag in list(dataset.keys()):
        tag_int = int(tag)
        group, element_number = tag_int >> 16, tag_int & 0xFFFF
        if group % 2 == 1:
            private_groups.add(group)
            continue
        if element_number == 0 and group > 0x0002:  # group lengths go stale: drop them
            del dataset[tag]
            context.actions["removed"] += 1
            continue
        if is_curve_group(group) or is_overlay_group(group):
            del dataset[tag]
            context.actions["overlay_curve_removed"] += 1
            continue
        if tag_int in _KEEP_ALWAYS:
            continue
        rule = RULES.get(tag_int)
        top_identity = top_level and tag_int in (PATIENT_ID, PATIENT_NAME)
        vr = _raw_vr(dataset, tag_int)  # decide before decoding the value where possible
        if rule is None and vr is not None and vr not in _OUTSIDE_TABLE_VRS:
            continue
        if (
            rule is not None
            and not top_identity
            and vr is not None
            and resolve_action(rule, context.option_keys, is_sequence=vr == "SQ") == "X"
        ):
            del dataset[tag]
            context.actions["removed"] += 1
            continue
        element = dataset[tag]
        if top_identity:
            _pseudonymize(element, context)
            continue
        if rule is None:
            _apply_outside_table(element, dataset, context)
        else:
            _apply(rule, element, dataset, context)
    for group in private_groups:
        _private_group(dataset, group, context)


def _raw_vr(dataset: Dataset, tag: int) -> str | None:
    """The element's VR without decoding its value (None when only decoding can tell)."""
    element = dataset.get_item(tag)
    vr = getattr(element, "VR", None)
    if vr is None or vr == "UN" or " or " in vr:
        known = dictionary_VR(tag) if dictionary_has_tag(tag) else None
        return None if known is None or " or " in known else known
    return vr


def _pseudonymize(element: DataElement, context: _Context) -> None:
    if int(element.tag) == PATIENT_ID:
        element.value = context.pseudonymizer.patient_id(context.patient_key)
    else:
        element.value = context.pseudonymizer.patient_name(context.patient_key)
    context.actions["pseudonymized"] += 1


def _apply(rule: ProfileRule, element: DataElement, dataset: Dataset, context: _Context) -> None:
    action = resolve_action(rule, context.option_keys, is_sequence=element.VR == "SQ")
    if action == "X":
        del dataset[element.tag]
    elif action == "Z":
        element.value = Sequence([]) if element.VR == "SQ" else element.empty_value
    elif action == "D" and element.VR == "UI":  # a dummy UID: the consistent replacement
        _replace_uids(element, context)
    elif action == "D":
        element.value = dummy_value(element.VR)
    elif action == "U":
        _replace_uids(element, context)
    elif action == "C":
        _clean(element, context)
        return
    elif action in {"K", "U*"} and element.VR == "SQ":
        _recurse(element, context)
    context.actions[ACTION_NAMES[action]] += 1


def _apply_outside_table(element: DataElement, dataset: Dataset, context: _Context) -> None:
    """The VR-based rules for attributes not in Table E.1-1 (see `medscale.deid.profile`)."""
    vr = element.VR
    if vr == "SQ":
        _recurse(element, context)
    elif vr == "PN":
        element.value = element.empty_value
        context.actions["emptied"] += 1
    elif vr in {"DA", "DT", "TM"}:
        if "F" in context.option_keys:
            return
        if "M" in context.option_keys:
            _clean(element, context)
        else:
            element.value = element.empty_value
            context.actions["emptied"] += 1
    elif vr == "UI":
        values = element.value if element.VM > 1 else [element.value]
        if any(value and str(value) not in UID_dictionary for value in values):
            if "U" not in context.option_keys:
                _replace_uids(element, context)
                context.actions["uid_replaced"] += 1


def _recurse(element: DataElement, context: _Context) -> None:
    for item in element.value:
        _walk(item, context, top_level=False)


def _replace_uids(element: DataElement, context: _Context) -> None:
    if element.VR == "SQ":
        _recurse(element, context)
        return
    if element.value in (None, ""):
        return

    def new(value: object) -> str:  # UIDs of the standard (SOP classes ...) identify nobody
        text = str(value)
        return text if text in UID_dictionary else context.pseudonymizer.uid(text)

    if element.VM > 1:
        element.value = [new(value) for value in element.value]
    else:
        element.value = new(element.value)


def _clean(element: DataElement, context: _Context) -> None:
    """Clean (C): shift dates (modified-dates option) or scrub identifying words from text."""
    vr = element.VR
    if vr == "SQ":
        _recurse(element, context)
    elif vr in {"DA", "DT"} and "M" in context.option_keys and element.value:
        shift = shift_date if vr == "DA" else shift_datetime
        values = element.value if element.VM > 1 else [element.value]
        shifted = [shift(str(value), context.shift_days) for value in values]
        element.value = shifted if element.VM > 1 else shifted[0]
        context.actions["date_shifted"] += 1
        return
    elif vr in {"DA", "DT"} and "M" in context.option_keys:
        return
    elif vr == "TM":
        pass  # dates move by whole days: the time of day is kept
    elif vr in STRING_VRS and context.scrub is not None and element.value:
        values = element.value if element.VM > 1 else [element.value]
        cleaned = [context.scrub.sub("X", str(value)) for value in values]
        element.value = cleaned if element.VM > 1 else cleaned[0]
    elif vr not in STRING_VRS:
        element.value = element.empty_value
    context.actions["cleaned"] += 1


def _private_group(dataset: Dataset, group: int, context: _Context) -> None:
    """Remove a private group, but keep the safe attributes listed in the settings."""
    keep_safe = "S" in context.option_keys and PRIVATE_RULE.options.get("S") == "C"
    tags = [tag for tag in dataset.keys() if tag.group == group]
    creators = {
        tag.element: str(dataset[tag].value).strip() for tag in tags if 0x10 <= tag.element <= 0xFF
    }
    kept_blocks: set[int] = set()
    for tag in tags:
        if 0x10 <= tag.element <= 0xFF:
            continue
        block = tag.element >> 8
        creator = creators.get(block)
        if keep_safe and creator and (creator, tag.element & 0xFF) in context.settings.safe_private:
            kept_blocks.add(block)
            element = dataset[tag]
            if element.VR == "SQ":
                _recurse(element, context)
            context.actions["private_kept"] += 1
            continue
        del dataset[tag]
        context.actions["private_removed"] += 1
    for block in creators:
        if block not in kept_blocks:
            del dataset[(group << 16) | block]
            context.actions["private_removed"] += 1


def _mark(dataset: Dataset, settings: DeidSettings, context: _Context) -> None:
    """Record the de-identification in the data set (PS3.3 C.7.1.1, C.12.1)."""
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethod = settings.method_text()
    codes = [BASIC_PROFILE_CODE] + [
        (option.code, option.meaning) for option in sorted(settings.options, key=lambda o: o.code)
    ]
    items = []
    for value, meaning in codes:
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    dataset.DeidentificationMethodCodeSequence = Sequence(items)
    if Option.RETAIN_FULL_DATES in settings.options:
        dataset.LongitudinalTemporalInformationModified = "UNMODIFIED"
    elif Option.RETAIN_MODIFIED_DATES in settings.options:
        dataset.LongitudinalTemporalInformationModified = "MODIFIED"
    else:
        dataset.LongitudinalTemporalInformationModified = "REMOVED"
    meta = getattr(dataset, "file_meta", None)
    if meta is not None:
        if "SOPInstanceUID" in dataset:
            meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        for keyword in (
            "SourceApplicationEntityTitle",
            "SendingApplicationEntityTitle",
            "ReceivingApplicationEntityTitle",
            "PrivateInformationCreatorUID",
            "PrivateInformation",
        ):
            if keyword in meta:
                delattr(meta, keyword)
