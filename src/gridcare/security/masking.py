"""Masking of personal data for display: the full value needs a permission (security issue)."""

from __future__ import annotations


def mask_phone(phone: str) -> str:
    """ "13812341234" -> "138****1234"."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_id_number(id_number: str) -> str:
    """Keep the first 6 (region) and last 4 characters: "110101********1234"."""
    if len(id_number) <= 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_address(address: str) -> str:
    """Keep the first third of the address (province/city/district), hide the rest."""
    keep = max(len(address) // 3, 0)
    return address[:keep] + "*" * min(len(address) - keep, 8)


def mask_name(name: str) -> str:
    """ "张三丰" -> "张**"."""
    return name[:1] + "*" * (len(name) - 1) if name else name
