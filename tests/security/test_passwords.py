"""Password policy and Argon2id hashing."""

from __future__ import annotations

import pytest

from gridcare.security import passwords
from gridcare.security.passwords import PasswordRejected, check_password


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Ab3$xyz", "at least 8 characters"),
        ("x" * 129, "at most 128 characters"),
        ("password123", "most common passwords"),
        ("P@ssw0rd", "most common passwords"),
        ("woaini1314", "most common passwords"),
        ("Qz8!gridcare", "site word 'gridcare'"),
        ("Qz8!GuoWang77", "site word 'guowang'"),
        ("xSGCC-2024-ok", "site word 'sgcc'"),
        ("MyPower#Line9", "site word 'power'"),
        ("dianli!Xq7-zz", "site word 'dianli'"),
        ("zhang.san#2024", "username"),
    ],
)
def test_policy_refuses(password: str, reason: str) -> None:
    with pytest.raises(PasswordRejected, match=reason):
        check_password(password, username="zhang.san")


def test_policy_accepts_good_passwords_at_the_bounds() -> None:
    check_password("Tqx-7mLp", username="zhang.san")  # exactly 8
    check_password("Tq" + "x" * 126, username="zhang.san")  # exactly 128
    check_password("电网营销-Tq7m", username="li")  # short usernames are not searched for


def test_common_list_ships_with_the_package() -> None:
    common = passwords.common_passwords()
    assert len(common) >= 300
    assert {"123456789", "qwertyuiop", "1qaz2wsx", "88888888"} <= common


def test_argon2id_hash_and_verify() -> None:
    digest = passwords.hash_password("Tqx-7mLp-92vB")
    assert digest.startswith("$argon2id$")
    assert "Tqx-7mLp-92vB" not in digest
    assert passwords.verify_password(digest, "Tqx-7mLp-92vB")
    assert not passwords.verify_password(digest, "Tqx-7mLp-92vC")
    assert not passwords.verify_password(None, "Tqx-7mLp-92vB")
    assert not passwords.verify_password("not a hash", "x")
    assert passwords.hash_password("Tqx-7mLp-92vB") != digest  # salted


def test_generated_one_time_passwords_meet_the_policy() -> None:
    seen = {passwords.generate_password() for _ in range(20)}
    assert len(seen) == 20
    for pw in seen:
        assert len(pw) == 16
        check_password(pw)
