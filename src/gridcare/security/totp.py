"""Time-based one-time passwords (RFC 6238, 30 s steps, 6 digits) with replay protection.

A code is accepted for the current step or one step either side (clock drift), and only for a step later
than the last one the account used: the same code, or an older one, is refused even while still valid.
"""

from __future__ import annotations

from datetime import datetime

import pyotp

ISSUER = "gridcare"
STEP_SECONDS = 30
DRIFT_STEPS = 1


def new_secret() -> str:
    """A random base32 secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """``otpauth://totp/gridcare:<username>?secret=...&issuer=gridcare`` for an authenticator app."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=username, issuer_name=ISSUER)


def step_of(at: datetime) -> int:
    """The TOTP time step that ``at`` (aware) falls in."""
    return int(at.timestamp()) // STEP_SECONDS


def code_at(secret: str, at: datetime) -> str:
    """The code an authenticator shows at ``at`` (for tests and enrolment checks)."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).at(at)


def match_step(secret: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to, or None when it is wrong, too old or already used.

    ``last_step`` is the step of the last code this account used; only later steps are accepted.
    """
    code = (code or "").strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now_step = step_of(at)
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None
