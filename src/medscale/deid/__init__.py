"""DICOM de-identification: the PS3.15 Annex E Basic Profile with keyed pseudonyms.

- `deidentify_dataset`: one pydicom data set (Basic Profile + options, recursive, pixel data
  untouched);
- `deidentify_tree`: a folder, in parallel, named by new UIDs, with an audit table;
- `verify_tree`: residual identifiers (known values in raw bytes, profile conformance);
- `check_references`: how many UID references between files resolve (must not drop);
- `generate_key` / `load_key` / `Pseudonymizer`: the project secret and what derives from it;
- `RULES`: PS3.15 Table E.1-1 as data (`medscale.deid.profile_table`).
"""

from medscale.deid.batch import DeidSummary, deidentify_tree
from medscale.deid.dataset import DatasetResult, deidentify_dataset
from medscale.deid.keys import MIN_KEY_BYTES, Pseudonymizer, generate_key, load_key
from medscale.deid.profile import DeidSettings, Option, resolve_action
from medscale.deid.profile_table import RULES, ProfileRule
from medscale.deid.review import review_reasons
from medscale.deid.verify import (
    Finding,
    ReferenceCheck,
    TreeCheck,
    check_references,
    check_tree,
    read_phi_list,
    verify_tree,
)

__all__ = [
    "MIN_KEY_BYTES",
    "RULES",
    "DatasetResult",
    "DeidSettings",
    "DeidSummary",
    "Finding",
    "Option",
    "ProfileRule",
    "ReferenceCheck",
    "Pseudonymizer",
    "check_references",
    "deidentify_dataset",
    "deidentify_tree",
    "generate_key",
    "load_key",
    "read_phi_list",
    "resolve_action",
    "review_reasons",
    "TreeCheck",
    "check_tree",
    "verify_tree",
]
