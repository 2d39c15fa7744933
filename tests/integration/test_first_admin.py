"""``dho users create-admin``: a new site's first administrator, and ``dho broker config``'s
refusal of a service password that cannot go into DHO_MQTT_URL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from triage.service import MIN_SERVICE_PASSWORD, ServiceError, check_service_password
from triage.storage.database import make_engine, session_factory
from triage.storage.models import AuditRow, UserRow
from triage.storage.seed import verify_secret

DHO = str(Path(sys.executable).with_name("dho"))


def dho(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DHO_")}
    env |= {"DHO_DATA_DIR": str(tmp_path), "DHO_SECRET_KEY": "k" * 32, **settings}
    return subprocess.run(  # noqa: S603 - our own command
        [DHO, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_create_admin_prints_a_password_once_and_refuses_a_taken_username(
    tmp_path: Path,
) -> None:
    """The first administrator gets a generated password that logs in; the creation is
    audited; the same username again is refused with what to do instead."""
    first = dho(tmp_path, "users", "create-admin", "ada", "--display-name", "Ada Admin")
    assert first.returncode == 0, first.stderr
    found = re.search(
        r"^password \(shown this once; give it in person\): (\S+)$", first.stdout, re.M
    )
    assert found is not None, first.stdout

    engine = make_engine(f"sqlite:///{(tmp_path / 'dho.sqlite3').resolve()}")
    try:
        with session_factory(engine)() as session:
            user = session.scalars(select(UserRow)).one()
            audit = session.scalars(select(AuditRow)).one()
    finally:
        engine.dispose()
    assert (user.username, user.display_name, user.role, user.active) == (
        "ada",
        "Ada Admin",
        "admin",
        True,
    )
    assert (audit.actor, audit.action, audit.object_type, audit.object_id) == (
        "dho users create-admin",
        "create",
        "user",
        user.id,
    )
    assert found[1] not in str(audit.details)

    assert verify_secret(user.password_hash, found[1])  # what /auth/login checks

    again = dho(tmp_path, "users", "create-admin", "ada")
    assert again.returncode == 1
    assert again.stderr.endswith(
        "dho: the username 'ada' is taken: choose another, or reset that user's password "
        "through the API (POST /api/v1/admin/users/{id}/password) as an administrator\n"
    )


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("a" * (MIN_SERVICE_PASSWORD - 1), "too short"),
        ("a" * MIN_SERVICE_PASSWORD + "@x", "letters, digits and - . _ ~ only"),
        ("a" * MIN_SERVICE_PASSWORD + "/", "letters, digits and - . _ ~ only"),
    ],
)
def test_a_service_password_must_be_long_and_url_safe(password: str, why: str) -> None:
    """The broker service password goes into DHO_MQTT_URL: short ones and ones that would need
    escaping are refused, saying what to use instead."""
    with pytest.raises(ServiceError, match=re.escape(why)) as refused:
        check_service_password(password)
    assert "openssl rand -hex 24" in str(refused.value)


def test_a_hex_service_password_is_accepted(tmp_path: Path) -> None:
    """`dho broker config` with DHO_BROKER_SERVICE_PASSWORD writes that password for the
    service login; a bad one stops it with the reason and exit 1."""
    password = "0123456789abcdef" * 3
    ok = dho(
        tmp_path,
        "broker",
        "config",
        "--out",
        str(tmp_path / "broker"),
        DHO_BROKER_SERVICE_PASSWORD=password,
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "broker" / "service-password").read_text() == password + "\n"
    bad = dho(
        tmp_path,
        "broker",
        "config",
        "--out",
        str(tmp_path / "broker"),
        DHO_BROKER_SERVICE_PASSWORD="short",  # noqa: S106 - refused on purpose
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("dho: the broker service password is too short")
    assert (tmp_path / "broker" / "service-password").read_text() == password + "\n"
