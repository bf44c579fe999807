"""Verification codes and serial numbers: random, typeable, and read back forgivingly."""

from __future__ import annotations

import re
import secrets

# Crockford's base32 without the characters people confuse when reading or typing a code
# off paper (0/O, 1/I/L) and without U: 30 symbols, about 4.9 bits each.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS = 5
GROUP_SIZE = 4
CODE_LENGTH = GROUPS * GROUP_SIZE  # 20 symbols = 98 bits of randomness
_SEPARATORS = re.compile(r"[\s\-_.·–—]+")


def code_bits() -> float:
    """Bits of randomness in one verification code."""
    import math

    return CODE_LENGTH * math.log2(len(ALPHABET))


def new_verification_code() -> str:
    """A fresh random code in its printed form, e.g. `7KQ4-M2XH-9RTB-C6PW-3NZA`."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return group(raw)


def group(raw: str) -> str:
    """Split an ungrouped code into dash-separated groups."""
    return "-".join(raw[i : i + GROUP_SIZE] for i in range(0, len(raw), GROUP_SIZE))


def normalise_code(typed: str | None) -> str | None:
    """The printed form of a typed code (any case, spaces, dashes), or None if it cannot be one."""
    if not typed:
        return None
    raw = _SEPARATORS.sub("", typed).upper()
    if len(raw) != CODE_LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return group(raw)


def format_serial(year: int, number: int) -> str:
    """The serial printed on a certificate, e.g. `KAP-2026-000123`."""
    return f"KAP-{year:04d}-{number:06d}"
