"""TOTP second factor and recovery codes (security.md S7). No Flask here."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp

ISSUER = "Survivor Advisory Council Portal"
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account_name: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=ISSUER)


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code if not ch.isspace() and ch != "-").upper()


def matching_counter(secret: str, code: str, now: datetime, last_counter: int | None) -> int | None:
    """Return the time step a code belongs to, or None.

    One step of clock drift either way is accepted. A step at or before the last one used is
    refused, so each code works once.
    """
    code = normalise_code(code)
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for counter in (current - 1, current, current + 1):
        if last_counter is not None and counter <= last_counter:
            continue
        if hmac.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes of 16 characters (80 bits each), grouped in fours for reading aloud."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def hash_recovery_code(code: str) -> str:
    # The codes carry 80 random bits, so a fast hash is enough; a slow one would make every
    # second-factor attempt check ten Argon2 hashes.
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()
