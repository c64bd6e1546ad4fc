"""Password policy and hashing (Argon2id).

A password is 8-128 characters, not one of the most common passwords (the list ships with the package),
and contains neither a site word ("gridcare", "sgcc", ...) nor the username. Hashes are Argon2id with
argon2-cffi's RFC 9106 parameters; a hash made with older parameters is upgraded at the next login.
"""

from __future__ import annotations

import secrets
import string
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
MAX_LENGTH = 128
SITE_WORDS = ("gridcare", "guowang", "sgcc", "power", "dianli")

_hasher = PasswordHasher()  # argon2id, time_cost=3, memory 64 MiB, parallelism 4
_DUMMY_HASH = _hasher.hash("gridcare-dummy-password-for-timing")


class PasswordRejected(ValueError):
    """The password does not meet the policy; the message names the reason (never the password)."""


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower case."""
    text = resources.files("gridcare.security").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_password(password: str, username: str = "") -> None:
    """Raise :class:`PasswordRejected` with the reason when ``password`` breaks the policy."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(f"password: must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"password: must be at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in common_passwords():
        raise PasswordRejected("password: is one of the most common passwords")
    for word in SITE_WORDS:
        if word in lowered:
            raise PasswordRejected(f"password: may not contain the site word {word!r}")
    if username and len(username) >= 3 and username.lower() in lowered:
        raise PasswordRejected("password: may not contain the username")


def hash_password(password: str) -> str:
    """Argon2id hash (PHC string with salt and parameters)."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash still costs one verification (no timing oracle)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than the current ones."""
    return _hasher.check_needs_rehash(password_hash)


def generate_password(length: int = 16) -> str:
    """A random one-time password that meets the policy (letters and digits, no look-alikes)."""
    alphabet = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        try:
            check_password(candidate)
        except PasswordRejected:
            continue
        return candidate
