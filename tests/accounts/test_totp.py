"""TOTP codes and recovery codes (security.md S7): pure unit tests, no app."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from portal.accounts import totp

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# In the middle of a 30-second step, so +-1 step is unambiguous.
NOW = datetime(2026, 3, 14, 9, 26, 45, tzinfo=UTC)
STEP = timedelta(seconds=30)


def code_at(when: datetime, secret: str = SECRET) -> str:
    return pyotp.TOTP(secret).at(when)


def counter_at(when: datetime) -> int:
    return int(when.timestamp()) // 30


def test_current_code_matches_its_counter():
    assert totp.matching_counter(SECRET, code_at(NOW), NOW, None) == counter_at(NOW)


def test_code_with_spaces_or_dash_is_accepted():
    code = code_at(NOW)
    assert totp.matching_counter(SECRET, f" {code[:3]} {code[3:]} ", NOW, None) == counter_at(NOW)
    assert totp.matching_counter(SECRET, f"{code[:3]}-{code[3:]}", NOW, None) == counter_at(NOW)


@pytest.mark.parametrize("steps", [-1, 1])
def test_one_step_of_clock_drift_is_accepted(steps):
    when = NOW + steps * STEP
    assert totp.matching_counter(SECRET, code_at(when), NOW, None) == counter_at(NOW) + steps


@pytest.mark.parametrize("steps", [-2, 2, -10])
def test_two_or_more_steps_away_is_refused(steps):
    code = code_at(NOW + steps * STEP)
    # Guard against a chance collision with a code inside the window.
    assert code not in {code_at(NOW + k * STEP) for k in (-1, 0, 1)}
    assert totp.matching_counter(SECRET, code, NOW, None) is None


def test_code_for_another_secret_is_refused():
    other = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
    assert code_at(NOW, other) != code_at(NOW)
    assert totp.matching_counter(SECRET, code_at(NOW, other), NOW, None) is None


def test_counter_already_used_is_refused():
    current = counter_at(NOW)
    code = code_at(NOW)
    assert totp.matching_counter(SECRET, code, NOW, current) is None
    assert totp.matching_counter(SECRET, code, NOW, current + 1) is None
    # A later step than the last one used is still fine.
    assert totp.matching_counter(SECRET, code, NOW, current - 1) == current


def test_previous_step_refused_once_current_step_was_used():
    previous = code_at(NOW - STEP)
    assert totp.matching_counter(SECRET, previous, NOW, None) == counter_at(NOW) - 1
    assert totp.matching_counter(SECRET, previous, NOW, counter_at(NOW)) is None


@pytest.mark.parametrize(
    "code", ["", "abcdef", "12345", "1234567", "12a456", "ABCD-EFGH", "12.456"]
)
def test_non_six_digit_input_is_refused(code):
    assert totp.matching_counter(SECRET, code, NOW, None) is None


@pytest.mark.parametrize("code", ["\u0663\u0664\u0665\u0666\u0667\u0668", "12345\u00b2"])
def test_non_ascii_digits_are_refused(code):
    # Arabic-Indic digits from a phone keyboard, or a superscript two: not a code, not a crash.
    assert totp.matching_counter(SECRET, code, NOW, None) is None


def test_provisioning_uri_names_the_portal_and_account():
    uri = totp.provisioning_uri(SECRET, "person@example.org")
    assert uri.startswith("otpauth://totp/")
    assert f"secret={SECRET}" in uri
    assert "issuer=Survivor%20Advisory%20Council%20Portal" in uri


def test_new_secrets_are_random_base32():
    first, second = totp.new_secret(), totp.new_secret()
    assert first != second
    assert re.fullmatch(r"[A-Z2-7]{32}", first)


RECOVERY_FORMAT = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")


def test_ten_unique_recovery_codes_in_groups_of_four():
    codes = totp.new_recovery_codes()
    assert len(codes) == 10
    assert len(set(codes)) == 10
    for code in codes:
        assert RECOVERY_FORMAT.fullmatch(code), code
        # No characters that are easily misread.
        assert not set(code) & set("01OI")


def test_each_call_gives_new_recovery_codes():
    assert not set(totp.new_recovery_codes()) & set(totp.new_recovery_codes())


def test_recovery_code_hash_normalises_case_dashes_and_spaces():
    code = "ABCD-EFGH-JKMN-PQRS"
    expected = totp.hash_recovery_code(code)
    assert re.fullmatch(r"[0-9a-f]{64}", expected)
    for variant in [
        "abcd-efgh-jkmn-pqrs",
        "ABCDEFGHJKMNPQRS",
        " abcd efgh jkmn pqrs ",
        "AbCd-EfGh JkMn-PqRs",
    ]:
        assert totp.hash_recovery_code(variant) == expected, variant
    assert totp.hash_recovery_code("ABCD-EFGH-JKMN-PQRT") != expected
    assert code not in expected
