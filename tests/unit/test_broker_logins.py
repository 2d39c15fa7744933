"""The generated Mosquitto configuration binds client ids to logins and keeps the service's
logins apart from the gateways' (docs/operator-broker.md, "Client ids are bound to logins")."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.broker.mosquitto_config import (
    BrokerConfigError,
    BrokerCredential,
    MosquittoOptions,
    TlsListener,
    render_acl,
    render_mosquitto_conf,
    write_broker_files,
)
from triage.broker.passwords import mosquitto_password_hash

HASH = mosquitto_password_hash("secret-of-sixteen-chars", salt=b"\x00" * 12)


def login(name: str) -> BrokerCredential:
    return BrokerCredential(name, HASH)


def test_every_listener_uses_the_login_as_the_client_id(tmp_path: Path) -> None:
    """Both the loopback and the TLS listener replace a client's id with its login name."""
    conf = render_mosquitto_conf(
        MosquittoOptions(
            port=1883,
            password_file=tmp_path / "passwd",
            acl_file=tmp_path / "acl",
            tls=TlsListener(8883, tmp_path / "c.crt", tmp_path / "c.key"),
        )
    )
    blocks = conf.split("\nlistener ")[1:]
    assert len(blocks) == 2
    for block in blocks:
        assert "\nuse_username_as_clientid true\n" in block


def test_no_configuration_without_passwords(tmp_path: Path) -> None:
    """Anonymous clients are never configured, not for the demo either."""
    with pytest.raises(BrokerConfigError, match="anonymous clients are never allowed"):
        render_mosquitto_conf(MosquittoOptions(port=1883))


def test_a_gateway_may_not_take_a_service_login_name(tmp_path: Path) -> None:
    """A gateway called dho-… could otherwise hold a service process's session."""
    with pytest.raises(BrokerConfigError, match="belong to the service"):
        write_broker_files(
            tmp_path,
            MosquittoOptions(port=1883),
            [login("dho-ingest-1")],
            [login("dho-service"), login("dho-ingest-1")],
        )


def test_a_service_login_starts_with_dho(tmp_path: Path) -> None:
    """Service logins are recognisable: a name without the dho- prefix is refused."""
    with pytest.raises(BrokerConfigError, match="service logins start with 'dho-'"):
        write_broker_files(tmp_path, MosquittoOptions(port=1883), [], [login("ingest-1")])


def test_each_service_login_gets_the_service_rights_and_the_probe_none() -> None:
    """The ACL has one service block per login; the probe may read the broker's uptime only."""
    acl = render_acl(["dho-service", "dho-ingest-1"], "dho-probe")
    for name in ("dho-service", "dho-ingest-1"):
        block = acl.split(f"user {name}\n", 1)[1].split("\n\n", 1)[0]
        assert block.splitlines() == [
            "topic read dho/v1/+/readings",
            "topic read dho/v1/+/reports",
            "topic read dho/v1/+/status",
            "topic read dho/v1/+/calls",
            "topic read dho/v1/+/message-reads",
            "topic write dho/v1/+/receipts",
            "topic write dho/v1/+/tablet",
        ]
    probe = acl.split("user dho-probe\n", 1)[1].split("\n\n", 1)[0]
    assert probe.splitlines() == ["topic read $SYS/broker/uptime"]


def test_the_amqtt_acl_lets_a_gateway_read_only_its_own_tablet_state() -> None:
    """The demo broker's ACL (issue 15): a gateway reads its own tablet state and writes its
    call requests and message reads; the service writes tablet states and reads the rest."""
    from amqtt.contexts import Action  # type: ignore[import-untyped]

    from triage.broker.amqtt_plugins import may

    service = {"dho-service"}
    assert may("gw-one", service, "dho/v1/gw-one/tablet", Action.SUBSCRIBE)
    assert may("gw-one", service, "dho/v1/gw-one/tablet", Action.RECEIVE)
    assert not may("gw-two", service, "dho/v1/gw-one/tablet", Action.SUBSCRIBE)
    assert not may("gw-two", service, "dho/v1/gw-one/tablet", Action.RECEIVE)
    assert not may("gw-one", service, "dho/v1/gw-one/tablet", Action.PUBLISH)
    for channel in ("calls", "message-reads"):
        assert may("gw-one", service, f"dho/v1/gw-one/{channel}", Action.PUBLISH)
        assert not may("gw-one", service, f"dho/v1/gw-two/{channel}", Action.PUBLISH)
        assert may("dho-service", service, f"dho/v1/+/{channel}", Action.SUBSCRIBE)
    assert may("dho-service", service, "dho/v1/gw-one/tablet", Action.PUBLISH)
    assert not may("dho-service", service, "dho/v1/+/tablet", Action.PUBLISH)
