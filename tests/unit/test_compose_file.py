"""docker-compose.yml and the Dockerfile, checked without a Docker engine: the services the
deployment needs, start-up order on health, secrets without defaults, volumes, ingest workers
that share the load without sharing a session, and commands that ``dho`` really has."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.core
import typer.main
import yaml

from triage.cli import app

ROOT = Path(__file__).parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
ENV_EXAMPLE = (ROOT / "deploy" / "compose.env.example").read_text()

SECRETS = {"DHO_SECRET_KEY", "DHO_POSTGRES_PASSWORD", "DHO_BROKER_SERVICE_PASSWORD", "DHO_TLS_DIR"}
#: ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}; not $${…}
INTERPOLATION = re.compile(r"(?<!\$)\$\{(?P<name>\w+)(?P<op>:?[-?+])?(?P<rest>[^}]*)\}")


def dho_services() -> dict[str, dict[str, Any]]:
    """The services that run our image (entrypoint ``dho``)."""
    return {name: s for name, s in SERVICES.items() if s.get("build") == "."}


def ingest_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in dho_services().items() if s.get("command") == ["ingest"]}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping, so anchors can merge"
    return {str(k): str(v) for k, v in env.items()}


def resolve(args: list[str]) -> Any:
    """Parse ``dho ARGS`` as the real command line would (subcommands, options, arguments);
    the parsed context (``.params``)."""
    command: Any = typer.main.get_command(app)
    path = ["dho"]
    while isinstance(command, typer.core.TyperGroup):
        assert args, f"{' '.join(path)} needs a subcommand"
        name, args = args[0], args[1:]
        sub = command.get_command(command.context_class(command), name)
        assert sub is not None, f"{' '.join(path)} has no subcommand {name!r}"
        command, path = sub, [*path, name]
    assert isinstance(command, typer.core.TyperCommand), path
    return command.make_context(" ".join(path), list(args))


def test_every_part_of_the_deployment_is_a_service() -> None:
    """PostgreSQL, the broker configuration, Mosquitto, the API, ingest, jobs and the dashboard."""
    assert {"postgres", "broker-config", "mosquitto", "api", "jobs", "dashboard"} <= set(SERVICES)
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    assert SERVICES["mosquitto"]["image"] == "eclipse-mosquitto:2"
    commands = {name: s["command"][:2] for name, s in dho_services().items()}
    assert commands["broker-config"] == ["broker", "config"]
    assert commands["api"][0] == "api"
    assert commands["jobs"] == ["jobs"]
    assert commands["dashboard"][0] == "dashboard"


def test_start_up_waits_for_health_or_completion() -> None:
    """Every depends_on waits for a health check (or the one-shot's success), and every service
    waited on for health has a health check."""
    for name, service in SERVICES.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for target, rule in depends.items():
            assert target in SERVICES, f"{name} depends on unknown {target}"
            condition = rule.get("condition")
            if condition == "service_completed_successfully":
                assert SERVICES[target].get("restart") == "no", f"{target} must be a one-shot"
            else:
                assert condition == "service_healthy", f"{name} → {target}: {condition}"
                test = SERVICES[target].get("healthcheck", {}).get("test")
                assert test, f"{target} has no health check"
                assert test[0] in {"CMD", "CMD-SHELL"}, test
    assert SERVICES["mosquitto"]["depends_on"]["broker-config"] == {
        "condition": "service_completed_successfully"
    }
    assert SERVICES["dashboard"]["depends_on"]["api"] == {"condition": "service_healthy"}


def test_secrets_are_required_and_have_no_default() -> None:
    """Each secret appears only as ${NAME:?message}: compose refuses to start without it."""
    found: dict[str, set[str]] = {}
    for match in INTERPOLATION.finditer(COMPOSE_TEXT):
        found.setdefault(match["name"], set()).add(match["op"] or "")
        if match["name"] in SECRETS or re.search("SECRET|PASSWORD|KEY", match["name"]):
            assert match["op"] == ":?", f"{match[0]} must be ${{{match['name']}:?message}}"
            assert match["rest"].strip(), f"{match[0]} needs a message saying what to set"
    assert set(found) >= SECRETS
    for name in SECRETS:
        assert re.search(rf"^{name}=", ENV_EXAMPLE, re.MULTILINE), f"{name} not in the example"
    for service in SERVICES.values():  # no secret value written into the file itself
        for key, value in environment(service).items():
            if re.search("SECRET|PASSWORD", key):
                assert re.fullmatch(r".*\$\{\w+:\?[^}]+\}.*", value), key


def test_data_lives_in_declared_volumes() -> None:
    """The database, Mosquitto's queue and its configuration are named volumes, and the broker
    configuration is written where Mosquitto reads it."""
    declared = set(COMPOSE["volumes"])
    mounts: dict[str, dict[str, str]] = {}
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if not source.startswith(("/", ".", "$")):
                assert source in declared, f"{name} mounts undeclared volume {source}"
            mounts.setdefault(name, {})[source] = target
    assert mounts["postgres"]["postgres-data"] == "/var/lib/postgresql/data"
    assert mounts["mosquitto"]["mosquitto-data"] == "/mosquitto/data"
    config = mounts["broker-config"]["mosquitto-config"]
    assert mounts["mosquitto"]["mosquitto-config"] == config  # the conf names absolute paths
    options = resolve(SERVICES["broker-config"]["command"]).params
    assert str(options["out"]) == config
    assert str(options["persistence_dir"]) == mounts["mosquitto"]["mosquitto-data"]
    assert SERVICES["mosquitto"]["command"] == ["mosquitto", "-c", f"{config}/mosquitto.conf"]
    assert options["tls_certfile"] is not None, "gateways connect over TLS"


def test_ingest_workers_share_the_subscription_with_a_client_id_each() -> None:
    """At least two ingest workers, one shared group, distinct client ids; none is replicated
    (replicas would share one id and throw each other off the broker). Mosquitto uses the login
    as the client id: each worker logs in with its own login, which equals its client id and is
    one of broker-config's --worker-login."""
    workers = ingest_services()
    assert len(workers) >= 2
    groups = {environment(s).get("DHO_MQTT_SHARED_GROUP") for s in workers.values()}
    assert len(groups) == 1
    assert groups.pop(), "DHO_MQTT_SHARED_GROUP set"
    ids = [environment(s).get("DHO_MQTT_CLIENT_ID") for s in workers.values()]
    assert None not in ids, ids
    assert len(set(ids)) == len(ids), ids
    logins = resolve(SERVICES["broker-config"]["command"]).params["worker_login"]
    for name, service in workers.items():
        assert service.get("deploy", {}).get("replicas", 1) == 1, name
        assert set(service["depends_on"]) >= {"postgres", "mosquitto"}
        url = environment(service)["DHO_MQTT_URL"]
        assert url.endswith("@mosquitto:1883")
        login = url.removeprefix("mqtt://").split(":", 1)[0]
        assert login == environment(service)["DHO_MQTT_CLIENT_ID"], name
        assert login in logins, f"{name}'s login {login} is not a --worker-login of broker-config"


def test_the_broker_health_check_does_not_use_a_workers_login() -> None:
    """The health check logs in as dho-probe: with a worker's (or the service's) login it would
    take that process's session over every 10 s."""
    check = " ".join(SERVICES["mosquitto"]["healthcheck"]["test"])
    assert "-u dho-probe " in check


def test_exactly_one_jobs_process() -> None:
    """The scheduled jobs run once: one service, not replicated, not inside another."""
    jobs = [n for n, s in dho_services().items() if s["command"][0] in {"jobs", "serve"}]
    assert jobs == ["jobs"]
    assert SERVICES["jobs"].get("deploy", {}).get("replicas", 1) == 1


@pytest.mark.parametrize("name", sorted(dho_services()))
def test_commands_and_health_checks_are_real_dho_command_lines(name: str) -> None:
    """What each service runs in our image parses as a `dho` command line (real subcommands,
    real options), and so does its health check."""
    service = SERVICES[name]
    resolve(service["command"])
    test = service.get("healthcheck", {}).get("test")
    if test:
        assert test[:2] == ["CMD", "dho"], test
        resolve(test[2:])


def test_health_checks_and_the_dashboard_point_at_the_ports_listened_on() -> None:
    """The API's health check asks its --port, and the dashboard talks to the API's service."""
    api = resolve(SERVICES["api"]["command"]).params
    assert SERVICES["api"]["healthcheck"]["test"][-1] == (
        f"http://127.0.0.1:{api['port']}/api/v1/ready"
    )
    dashboard = resolve(SERVICES["dashboard"]["command"]).params
    assert SERVICES["dashboard"]["healthcheck"]["test"][-1] == (
        f"http://127.0.0.1:{dashboard['port']}/_stcore/health"
    )
    assert environment(SERVICES["dashboard"])["DHO_DASHBOARD_API_URL"] == (
        f"http://api:{api['port']}"
    )


def test_the_image_runs_dho_as_a_user_who_is_not_root() -> None:
    """The Dockerfile installs without dev extras, switches to a non-root user before the
    entrypoint `dho`, and prepares the folder broker-config writes as Mosquitto's user."""
    instructions = [
        line.split(None, 1)
        for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    keywords = [i[0].upper() for i in instructions]
    assert instructions[0] == ["FROM", "python:3.11-slim"]
    users = [i[1].strip() for i in instructions if i[0].upper() == "USER"]
    assert users, "no USER instruction"
    assert users[-1] not in {"root", "0", "0:0"}
    assert keywords.index("ENTRYPOINT") > len(keywords) - 1 - keywords[::-1].index("USER")
    assert instructions[keywords.index("ENTRYPOINT")][1] == '["dho"]'
    installs = [i[1] for i in instructions if i[0].upper() == "RUN" and "pip install" in i[1]]
    assert installs, "no pip install"
    assert not any("[dev]" in line for line in installs)
    for service in dho_services().values():
        assert service.get("user", users[-1]) not in {"root", "0", "0:0"}
    assert SERVICES["broker-config"]["user"] == "1883:1883"
    assert "install -d -o 1883 -g 1883 -m 0750 /mosquitto/config" in DOCKERFILE
