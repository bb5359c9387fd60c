"""Keys and keyed derivations: secrecy of the key file, determinism, key dependence."""

from __future__ import annotations

import re
import stat

import pytest

from medscale.deid import MIN_KEY_BYTES, Pseudonymizer, generate_key, load_key
from medscale.deid.keys import shift_date, shift_datetime
from medscale.errors import ConfigError, InputError

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))


def test_keygen_writes_an_owner_only_secret(tmp_path):
    path = generate_key(tmp_path / "project.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = load_key(path)
    assert len(secret) == MIN_KEY_BYTES
    assert load_key(generate_key(tmp_path / "other.key")) != secret  # random
    with pytest.raises(ConfigError, match="exists"):
        generate_key(path)
    with pytest.raises(ConfigError, match="at least 32"):
        generate_key(tmp_path / "small.key", n_bytes=16)


def test_missing_or_short_keys_are_refused(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_key(tmp_path / "absent.key")
    short = tmp_path / "short.key"
    short.write_text("00" * 31)
    with pytest.raises(InputError, match="too short"):
        load_key(short)
    with pytest.raises(InputError, match="too short"):
        Pseudonymizer(b"x" * 31)
    raw = tmp_path / "raw.key"
    raw.write_bytes(b"\xff" * 40)  # not hex: taken as raw bytes
    assert load_key(raw) == b"\xff" * 40


def test_pseudonyms_are_deterministic_and_keyed():
    a, a_again, b = Pseudonymizer(KEY_A), Pseudonymizer(KEY_A), Pseudonymizer(KEY_B)
    assert a.patient_id("12345") == a_again.patient_id("12345")
    assert a.patient_id("12345") != b.patient_id("12345")
    assert a.patient_id("12345") != a.patient_id("12346")
    assert re.fullmatch(r"MS[0-9A-Z]{20}", a.patient_id("12345"))
    assert re.fullmatch(r"ANON\^[0-9A-Z]{12}", a.patient_name("12345"))
    assert len(a.patient_id("x")) <= 64 and len(a.patient_name("x")) <= 64


def test_uids_are_valid_consistent_and_distinct():
    a = Pseudonymizer(KEY_A)
    uids = {a.uid(f"1.2.3.{n}") for n in range(2000)}
    assert len(uids) == 2000
    for uid in list(uids)[:200]:
        assert re.fullmatch(r"2\.25\.(0|[1-9][0-9]*)", uid) and len(uid) <= 64
    assert a.uid("1.2.3.4") == a.uid("1.2.3.4\0")  # padding does not change the mapping
    assert a.uid("1.2.3.4") != Pseudonymizer(KEY_B).uid("1.2.3.4")


def test_date_shift_is_per_patient_and_bounded():
    a = Pseudonymizer(KEY_A)
    shifts = [a.date_shift_days(f"patient-{n}", max_days=365) for n in range(500)]
    assert min(shifts) >= 1 and max(shifts) <= 365
    assert len(set(shifts)) > 250  # spread over the range
    assert a.date_shift_days("p", max_days=365) == a.date_shift_days("p", max_days=365)
    assert shift_date("20240301", 1) == "20240229"
    assert shift_date("not a date", 3) == ""
    assert shift_datetime("20240101093000.5+0100", 1) == "20231231093000.5+0100"
