"""Password hashing (Argon2id) and the password policy (security.md S5). No Flask here."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 256


class PasswordHashing:
    """Argon2id hashing with rehash-on-login; parameters come from configuration."""

    def __init__(self, **params: int) -> None:
        self._hasher = PasswordHasher(**params)
        # Verifying against this keeps failed sign-ins for unknown accounts as slow as real ones.
        self._dummy_hash = self._hasher.hash("not a real password, only for timing")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """Check a password; a missing hash still costs one verification."""
        try:
            return self._hasher.verify(stored_hash or self._dummy_hash, password) and bool(
                stored_hash
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships a frequency-ranked list of ~30,000 leaked passwords.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common(password: str) -> bool:
    """True when the password, or the password without its trailing digits, is a well-known one."""
    lowered = password.lower()
    stripped = lowered.rstrip("0123456789!")
    common = _common_passwords()
    if lowered in common or stripped in common:
        return True
    # A single character repeated, or one short word repeated, is as weak as a leaked password.
    return len(set(lowered)) <= 2 or any(
        lowered == lowered[:size] * (len(lowered) // size)
        for size in range(1, 5)
        if len(lowered) % size == 0
    )
