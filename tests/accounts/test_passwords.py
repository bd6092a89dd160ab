"""Argon2id hashing and the password policy (security.md S5): pure unit tests, no app."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters
from argon2.low_level import Type

from portal.accounts.passwords import MAX_LENGTH, MIN_LENGTH, PasswordHashing, is_common

CHEAP = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
PASSPHRASE = "a long and unusual test passphrase"


@pytest.fixture(scope="module")
def hashing() -> PasswordHashing:
    return PasswordHashing(**CHEAP)


def test_hash_is_argon2id_with_the_configured_parameters(hashing):
    stored = hashing.hash(PASSPHRASE)
    assert stored.startswith("$argon2id$")
    params = extract_parameters(stored)
    assert params.type is Type.ID
    assert (params.time_cost, params.memory_cost, params.parallelism) == (1, 1024, 1)
    assert PASSPHRASE not in stored


def test_same_password_hashes_differently_each_time(hashing):
    # A random salt per hash: equal passwords do not give equal hashes.
    assert hashing.hash(PASSPHRASE) != hashing.hash(PASSPHRASE)


def test_verify_accepts_the_right_password(hashing):
    assert hashing.verify(hashing.hash(PASSPHRASE), PASSPHRASE) is True


@pytest.mark.parametrize(
    "attempt", ["a long and unusual test passphrasE", "", "a long and unusual test passphrase "]
)
def test_verify_refuses_a_wrong_password(hashing, attempt):
    assert hashing.verify(hashing.hash(PASSPHRASE), attempt) is False


def test_verify_returns_false_for_a_missing_hash(hashing):
    # Accounts still waiting for their invitation have no hash; the dummy hash must not match even
    # its own password.
    assert hashing.verify(None, PASSPHRASE) is False
    assert hashing.verify(None, "not a real password, only for timing") is False
    assert hashing.verify("", "not a real password, only for timing") is False


def test_verify_returns_false_for_a_malformed_hash(hashing):
    assert hashing.verify("not-an-argon2-hash", PASSPHRASE) is False
    assert hashing.verify("$argon2id$v=19$m=1024,t=1,p=1$broken", PASSPHRASE) is False


def test_rehash_is_needed_when_parameters_change(hashing):
    stored = hashing.hash(PASSPHRASE)
    assert hashing.needs_rehash(stored) is False
    stronger = PasswordHashing(time_cost=2, memory_cost=2048, parallelism=1)
    assert stronger.needs_rehash(stored) is True
    # The old hash still verifies under the new parameters, so the rehash can happen at sign-in.
    assert stronger.verify(stored, PASSPHRASE) is True
    assert stronger.needs_rehash(stronger.hash(PASSPHRASE)) is False


def test_policy_lengths():
    assert MIN_LENGTH == 12
    assert MAX_LENGTH >= 64


@pytest.mark.parametrize(
    "password",
    [
        "password",
        "PASSWORD",
        "qwertyuiop",
        "iloveyou",
        "letmein",
        "1234567890",
        "football",
        "sunshine",
        "princess",
    ],
)
def test_common_passwords_are_refused(password):
    assert is_common(password) is True


@pytest.mark.parametrize(
    "password",
    ["password123456", "Password2024!", "sunshine1", "iloveyou!!", "letmein0000", "qwerty123456"],
)
def test_common_password_with_trailing_digits_is_refused(password):
    assert is_common(password) is True


@pytest.mark.parametrize(
    "password", ["aaaaaaaaaaaa", "zzzzzzzzzzzzzzzz", "abababababab", "xyzxyzxyzxyz", "wxyzwxyzwxyz"]
)
def test_repeated_characters_or_short_patterns_are_refused(password):
    assert is_common(password) is True


@pytest.mark.parametrize(
    "password",
    [
        PASSPHRASE,
        "violet kettle drifting northward",
        "Correct-Lantern-Orbit-Meadow",
        "maple tram gecko 47 quietly",
    ],
)
def test_long_unusual_passphrases_pass(password):
    assert is_common(password) is False
