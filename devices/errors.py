"""The one error a decoder raises: the bytes do not hold what the characteristic promises."""

from __future__ import annotations


class DecodeError(ValueError):
    """Malformed characteristic data: says what is wrong, and never returns garbage."""
