"""Mosquitto password-file hashes (``$7$``: PBKDF2-SHA512), made in Python.

Mosquitto 2.0's ``mosquitto_passwd`` writes ``username:$7$<iterations>$<salt>$<hash>`` with a
12-byte random salt, a 64-byte PBKDF2-HMAC-SHA512 digest, both in standard base64, and 101
iterations by default (``PW_DEFAULT_ITERATIONS`` in Mosquitto 2.0's ``password_mosq.h``). The
broker reads the iteration count from each line, so any count verifies.

The service keeps only one-way hashes of gateway secrets, so the broker entry is made when the
gateway is registered (while the secret is known) and stored beside the argon2 hash
(``GatewayRow.broker_password_hash``). Gateway secrets are 192-bit random tokens, so the low
iteration count does not make them guessable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

MOSQUITTO_ITERATIONS = 101
SALT_BYTES = 12
_PREFIX = "$7$"


def mosquitto_password_hash(
    secret: str, *, salt: bytes | None = None, iterations: int = MOSQUITTO_ITERATIONS
) -> str:
    """The ``$7$`` password-file hash of ``secret`` (a fresh random salt unless one is given)."""
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, not {iterations}")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode("utf-8"), salt, iterations)
    return (
        f"{_PREFIX}{iterations}${base64.b64encode(salt).decode('ascii')}"
        f"${base64.b64encode(digest).decode('ascii')}"
    )


def verify_mosquitto_password(stored_hash: str, secret: str) -> bool:
    """Whether ``secret`` matches a ``$7$`` hash (False for anything malformed)."""
    if not stored_hash.startswith(_PREFIX):
        return False
    try:
        iterations_text, salt_text, digest_text = stored_hash[len(_PREFIX) :].split("$")
        iterations = int(iterations_text)
        salt = base64.b64decode(salt_text, validate=True)
        expected = base64.b64decode(digest_text, validate=True)
    except ValueError:
        return False
    if iterations < 1:
        return False
    actual = hashlib.pbkdf2_hmac("sha512", secret.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(actual, expected)
