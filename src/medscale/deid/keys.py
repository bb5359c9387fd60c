"""The project key and everything derived from it: pseudonyms, UIDs and date shifts.

Every derived value is an HMAC-SHA256 of the original value under the project key, with a
purpose label, so the same input gives the same output in every run and every file, and
nobody without the key can link a pseudonym back to a person (PS3.15 E.3.1 Note 2;
NIST SP 800-107 for HMAC as a keyed pseudo-random function).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from medscale.errors import ConfigError, InputError

logger = logging.getLogger(__name__)

#: Minimum secret length in bytes (256 bits, the HMAC-SHA256 block security level).
MIN_KEY_BYTES = 32


def generate_key(
    path: str | Path, *, n_bytes: int = MIN_KEY_BYTES, overwrite: bool = False
) -> Path:
    """Write a new random secret as hex to `path`, readable and writable by its owner only.

    Parameters
    ----------
    path : str or Path
        The key file to create.
    n_bytes : int
        Secret length in bytes, at least `MIN_KEY_BYTES`.
    overwrite : bool
        Replace an existing file (its pseudonyms can then no longer be reproduced).

    Raises
    ------
    ConfigError
        If `n_bytes` is too small or the file exists and `overwrite` is false.
    """
    if n_bytes < MIN_KEY_BYTES:
        raise ConfigError(f"a key needs at least {MIN_KEY_BYTES} bytes, got {n_bytes}")
    path = Path(path)
    if path.exists() and not overwrite:
        raise ConfigError(
            f"{path}: key file exists; refusing to overwrite it (its pseudonyms "
            "would become unreproducible)"
        )
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(path, flags, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, (secrets.token_hex(n_bytes) + "\n").encode("ascii"))
    finally:
        os.close(descriptor)
    return path


def load_key(path: str | Path) -> bytes:
    """Read a key file written by `generate_key` (hex), or raw bytes of at least 32 bytes.

    Raises
    ------
    InputError
        If the file is missing or the secret is shorter than `MIN_KEY_BYTES`.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{path}: key file not found; create one with `medscale deid keygen KEYFILE`"
        )
    raw = path.read_bytes()
    text = raw.strip()
    try:
        secret = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        secret = raw
    if len(secret) < MIN_KEY_BYTES:
        raise InputError(
            f"{path}: key too short ({len(secret)} bytes); at least "
            f"{MIN_KEY_BYTES} bytes are needed: `medscale deid keygen KEYFILE`"
        )
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning(
            "%s: key file is readable by others (mode %o); chmod 600 it", path, mode & 0o777
        )
    return secret


@dataclass(frozen=True)
class Pseudonymizer:
    """Keyed, deterministic replacements for identifiers.

    Parameters
    ----------
    key : bytes
        The project secret, at least `MIN_KEY_BYTES` long.
    """

    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) < MIN_KEY_BYTES:
            raise InputError(
                f"key too short ({len(self.key)} bytes); at least {MIN_KEY_BYTES} bytes are needed"
            )

    def digest(self, purpose: str, value: str) -> bytes:
        """HMAC-SHA256 of ``purpose + NUL + value`` under the key (32 bytes)."""
        message = purpose.encode("utf-8") + b"\0" + value.encode("utf-8")
        return hmac.new(self.key, message, hashlib.sha256).digest()

    def patient_id(self, original_id: str) -> str:
        """Patient ID (LO) pseudonym: ``MS`` + 20 base-32 characters (100 bits)."""
        return "MS" + _base32(self.digest("patient-id", original_id))[2:22]

    def patient_name(self, original_id: str) -> str:
        """Patient's Name (PN) pseudonym, derived from the original Patient ID.

        Deriving the name from the ID keeps name and ID of one patient consistent.
        """
        return "ANON^" + _base32(self.digest("patient-name", original_id))[2:14]

    def uid(self, original_uid: str) -> str:
        """A new UID ``2.25.<integer>`` from the first 128 bits of the HMAC (PS3.5 B.2)."""
        number = int.from_bytes(self.digest("uid", original_uid.strip("\0 "))[:16], "big")
        return f"2.25.{number}"

    def date_shift_days(self, original_patient_id: str, *, max_days: int) -> int:
        """Days (in ``[1, max_days]``) by which this patient's dates move back in time."""
        number = int.from_bytes(self.digest("date-shift", original_patient_id)[:8], "big")
        return 1 + number % max_days

    def file_tag(self, text: str) -> str:
        """A short keyed fingerprint (16 hex) of `text`, for audit rows (e.g. input paths)."""
        return self.digest("audit", text).hex()[:16]


def _base32(digest: bytes) -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
    number = int.from_bytes(digest, "big")
    chars = []
    while number:
        number, rest = divmod(number, 32)
        chars.append(alphabet[rest])
    return "".join(reversed(chars)).rjust(52, "0")


def shift_date(value: str, days: int) -> str:
    """Move a DA value ``YYYYMMDD`` back by `days`; an unparseable value becomes empty."""
    text = value.strip()
    try:
        parsed = dt.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return ""
    return (parsed - dt.timedelta(days=days)).strftime("%Y%m%d")


def shift_datetime(value: str, days: int) -> str:
    """Move a DT value back by `days`, keeping the time of day and any UTC offset."""
    text = value.strip()
    if len(text) < 8:
        return ""
    shifted = shift_date(text[:8], days)
    return shifted + text[8:] if shifted else ""
