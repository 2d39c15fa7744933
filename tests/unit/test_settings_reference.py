"""The configuration reference in docs/operator.md is every ``DHO_`` variable the code reads:
generated from the settings classes and the command line, kept in sync, with no secret shown."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Annotated

import pytest
import typer
from pydantic import Field, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict
from typer.testing import CliRunner

from triage.cli import app
from triage.config import DEMO_SECRET
from triage.settings_reference import (
    BEGIN,
    END,
    REGENERATE,
    SETTINGS_GROUPS,
    SettingsGroup,
    cli_env_options,
    current_block,
    env_name,
    is_secret,
    render_settings_block,
    settings_rows,
)

ROOT = Path(__file__).resolve().parents[2]
OPERATOR_MD = ROOT / "docs" / "operator.md"
DHO_COMMAND = typer.main.get_command(app)
runner = CliRunner()


def test_the_reference_in_operator_md_is_up_to_date() -> None:
    """An operator reading docs/operator.md sees every variable as the code has it today."""
    block = current_block(OPERATOR_MD.read_text(encoding="utf-8"))
    assert block is not None, f"docs/operator.md has no {BEGIN} … {END} block"
    assert block == render_settings_block(), (
        f"docs/operator.md's configuration reference is out of date: regenerate it with "
        f"`{REGENERATE}`"
    )


def test_every_setting_and_every_variable_option_says_what_it_does() -> None:
    """No row of the reference is left without a description."""
    missing = [
        env_name(group.settings_class, name, field)
        for group in SETTINGS_GROUPS
        for name, field in group.settings_class.model_fields.items()
        if not (field.description or "").strip()
    ]
    missing += [o.variable for o in cli_env_options(DHO_COMMAND) if not o.param.help]
    assert missing == [], f"add a description to: {', '.join(missing)}"


def _settings_classes_in_the_code() -> set[str]:
    """``module.Class`` of every class deriving from ``BaseSettings`` in our packages (read
    from the source, so nothing needs importing)."""
    found = set()
    for package in ("devices", "gateway", "triage", "dashboard"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and any(
                    (isinstance(b, ast.Name) and b.id == "BaseSettings")
                    or (isinstance(b, ast.Attribute) and b.attr == "BaseSettings")
                    for b in node.bases
                ):
                    found.add(f"{module}.{node.name}")
    return found


def test_every_settings_class_in_the_code_is_in_the_reference() -> None:
    """A new settings class cannot slip past the reference: add it to SETTINGS_GROUPS."""
    listed = {f"{g.settings_class.__module__}.{g.settings_class.__name__}" for g in SETTINGS_GROUPS}
    assert _settings_classes_in_the_code() == listed


class _NewSettings(BaseSettings):
    """What another branch might add."""

    model_config = SettingsConfigDict(env_prefix="DHO_NEW_")

    workers: int = Field(default=3, ge=1, le=64, description="ingest workers to start")
    api_token: str | None = Field(default=None, description="a token for something")
    site_password: SecretStr = Field(default=SecretStr("demo"), description="refused outside demo")


_new_app = typer.Typer()


@_new_app.command("demo")
def _demo(
    port: Annotated[
        int, typer.Option("--port", envvar="DHO_DEMO_PORT", min=1, help="Port of the demo.")
    ] = 8080,
) -> None:
    """A command with a variable, as another branch might add."""


@_new_app.command("api")
def _api(
    port: Annotated[
        int, typer.Option("--port", envvar="DHO_DEMO_PORT", min=1, help="Port of the demo.")
    ] = 9090,
) -> None:
    """The same variable on a second command, with another default."""


def test_a_new_setting_or_option_appears_without_being_listed_anywhere() -> None:
    """Fields and variable options are found by reading the class and the command tree: a
    regeneration after a merge is all it takes."""
    block = render_settings_block(
        (SettingsGroup("New", _NewSettings, "Read by the new thing."),),
        typer.main.get_command(_new_app),
    )
    assert "### New: `DHO_NEW_…` (`tests.unit.test_settings_reference._NewSettings`)" in block
    assert "| `DHO_NEW_WORKERS` | integer, ≥ 1, ≤ 64 | `3` | Ingest workers to start. |" in block
    assert "| `DHO_NEW_API_TOKEN` | text | unset | A token for something. |" in block
    assert "| `DHO_NEW_SITE_PASSWORD` | secret text | required outside demo |" in block
    assert (
        "| `DHO_DEMO_PORT` | integer, ≥ 1 | `9090` (`dho api`), `8080` (`dho demo`) | "
        "Port of the demo. Option `dho api --port`, `dho demo --port`. |"
    ) in block


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("secret_key", True),
        ("secret", True),
        ("db_password", True),
        ("api_token", True),
        ("api_key", True),
        ("access_token_minutes", False),
        ("refresh_token_hours", False),
        ("key_rotation_days", False),
        ("mqtt_url", False),
    ],
)
def test_secrets_are_told_apart_by_name(name: str, secret: bool) -> None:
    """Token lifetimes are settings to show; keys, passwords and tokens are not."""
    assert is_secret(name, FieldInfo(default=None)) is secret


def test_no_secret_value_is_shown() -> None:
    """The demo signing key appears nowhere in the docs; the reference says it is required."""
    text = OPERATOR_MD.read_text(encoding="utf-8")
    assert DEMO_SECRET not in text
    rows = {
        row.variable: row
        for group in SETTINGS_GROUPS
        for row in settings_rows(group.settings_class)
    }
    assert rows["`DHO_SECRET_KEY`"].default == "required outside demo"
    assert rows["`DHO_GATEWAY_SECRET`"].default == "unset"


@pytest.mark.parametrize("group", SETTINGS_GROUPS, ids=lambda g: g.settings_class.__name__)
def test_a_secret_said_to_be_required_outside_demo_is_refused_outside_demo(
    group: SettingsGroup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the reference promises about a secret with a built-in value is what the settings
    class does: without the variable, outside demo mode, it refuses to start and names it."""
    import os

    for variable in list(os.environ):
        if variable.upper().startswith("DHO_"):
            monkeypatch.delenv(variable)
    cls = group.settings_class
    for name, field in cls.model_fields.items():
        if not is_secret(name, field) or field.get_default(call_default_factory=True) is None:
            continue
        with pytest.raises(ValidationError, match=env_name(cls, name, field)):
            cls()


#: Variables the docs may name that are not settings of the running system.
_NOT_SETTINGS = re.compile(r"^DHO_(TEST|BENCH)_[A-Z0-9_]+$|^DHO_SERVICE_WAIT_SECONDS$")
_PREFIXES = {"DHO_", "DHO_GATEWAY_", "DHO_DASHBOARD_"}


def test_every_variable_named_in_the_docs_exists() -> None:
    """A page that names a DHO_ variable names one the code reads (a renamed or removed
    setting is caught in every page, not only in the reference)."""
    known = {
        env_name(g.settings_class, name, field)
        for g in SETTINGS_GROUPS
        for name, field in g.settings_class.model_fields.items()
    } | {o.variable for o in cli_env_options(DHO_COMMAND)}
    # deploy/run-site.sh (DHO_SITE_*, DHO_BIN) and docker-compose.yml (DHO_POSTGRES_PASSWORD,
    # DHO_TLS_DIR, …) have variables of their own: those they read count.
    for deployment in (ROOT / "deploy" / "run-site.sh", ROOT / "docker-compose.yml"):
        known |= set(re.findall(r"\$\{?(DHO_[A-Z0-9_]+)", deployment.read_text(encoding="utf-8")))
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    unknown = set()
    for page in pages:
        for name in re.findall(r"\bDHO_[A-Z0-9_]*", page.read_text(encoding="utf-8")):
            if name not in known | _PREFIXES and not _NOT_SETTINGS.match(name):
                unknown.add(f"{page.relative_to(ROOT)}: {name}")
    assert sorted(unknown) == []


def test_dho_docs_settings_writes_the_block_into_a_page(tmp_path: Path) -> None:
    """`dho docs settings --write` replaces only the block; the prose around it stays."""
    page = tmp_path / "operator.md"
    page.write_text(f"# Ops\n\nbefore\n\n{BEGIN}\nold\n{END}\n\nafter\n", encoding="utf-8")
    result = runner.invoke(app, ["docs", "settings", "--write", "--file", str(page)])
    assert result.exit_code == 0, result.output
    text = page.read_text(encoding="utf-8")
    assert text == f"# Ops\n\nbefore\n\n{render_settings_block()}\n\nafter\n"


def test_dho_docs_settings_refuses_a_page_without_the_markers(tmp_path: Path) -> None:
    """Writing into a page without the markers changes nothing and says what is missing."""
    page = tmp_path / "operator.md"
    page.write_text("# Ops\n", encoding="utf-8")
    result = runner.invoke(app, ["docs", "settings", "--write", "--file", str(page)])
    assert result.exit_code == 2
    assert BEGIN in result.output
    assert page.read_text(encoding="utf-8") == "# Ops\n"


def test_dho_docs_settings_prints_the_block() -> None:
    """Without --write the block goes to standard output, for a look or a diff."""
    result = runner.invoke(app, ["docs", "settings"])
    assert result.exit_code == 0
    assert result.stdout == render_settings_block() + "\n"
