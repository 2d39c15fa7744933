"""The configuration reference in ``docs/operator.md``, generated from the settings classes and
the command line (``dho docs settings --write``; a test fails when the page is out of date).

Nothing here is a list of settings: every field of every settings class in
:data:`SETTINGS_GROUPS`, and every ``dho`` option with an ``envvar``, becomes a row by itself —
name, type (with its bounds), default and description. A new field or option appears at the
next regeneration. A secret (a ``SecretStr``, or a field named like ``secret``, ``password`` or
``token``) never shows its built-in value: one that has a default is shown as "required outside
demo" (the built-in value is the demo's, refused otherwise), one without as "unset".

Reading the classes never reads the environment: no settings object is built.
"""

from __future__ import annotations

import enum
import re
import types
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from dashboard.settings import DashboardSettings
from gateway.config import GatewaySettings
from triage.config import Settings

__all__ = [
    "BEGIN",
    "END",
    "REGENERATE",
    "SETTINGS_GROUPS",
    "CliEnvOption",
    "SettingRow",
    "SettingsGroup",
    "cli_env_options",
    "current_block",
    "env_name",
    "is_secret",
    "render_settings_block",
    "replace_block",
    "settings_rows",
]

#: The command that rewrites the block in docs/operator.md.
REGENERATE = "dho docs settings --write"
BEGIN = "<!-- settings:begin -->"
END = "<!-- settings:end -->"

#: A field named like a secret: ``secret_key``, ``db_password``, ``api_token``, ``api_key``.
_SECRET_NAME = re.compile(r"(^|_)(secret|password|passphrase)(_|$)|(^|_)(token|key)$")


@dataclass(frozen=True)
class SettingsGroup:
    """One settings class: a heading and who reads it (the fields come from the class)."""

    title: str
    settings_class: type[BaseSettings]
    read_by: str


#: Every settings class of DHO (a test fails when a ``BaseSettings`` subclass is missing here).
SETTINGS_GROUPS: tuple[SettingsGroup, ...] = (
    SettingsGroup(
        "The service",
        Settings,
        "Read once at start by every `dho` command that runs the service or touches its "
        "database (`dho serve`, `dho ingest`, `dho jobs`, `dho broker …`).",
    ),
    SettingsGroup(
        "The home gateway",
        GatewaySettings,
        "Read by `dho gateway …` (and `python -m gateway`) on the patient's hub; "
        "see [gateway.md](gateway.md).",
    ),
    SettingsGroup(
        "The dashboard",
        DashboardSettings,
        "Read by the Streamlit dashboard at every script run; see [dashboard.md](dashboard.md).",
    ),
)


@dataclass(frozen=True)
class SettingRow:
    """One environment variable as the reference shows it (Markdown already in the cells)."""

    variable: str
    type: str
    default: str
    description: str


@dataclass(frozen=True)
class CliEnvOption:
    """A command-line option that also reads an environment variable."""

    variable: str
    command: str  # e.g. "dho serve"
    option: str  # e.g. "--port"
    param: Any  # a click (or typer) parameter


# ----------------------------------------------------------------------------- settings classes


def env_prefix(settings_class: type[BaseSettings]) -> str:
    return str(settings_class.model_config.get("env_prefix", ""))


def env_name(settings_class: type[BaseSettings], name: str, field: FieldInfo) -> str:
    """The variable pydantic-settings reads for ``field``: an alias as given, else the
    prefix and the field name (upper-cased: the lookup is case-insensitive)."""
    alias = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
    if alias:
        return alias.upper()
    return (env_prefix(settings_class) + name).upper()


def is_secret(name: str, field: FieldInfo) -> bool:
    """A ``SecretStr``, a field named like a secret, or one marked ``{"secret": True}``; a field
    marked ``{"secret": False}`` is not, whatever its name (``password_login_roles``)."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("secret"), bool):
        return extra["secret"] is True
    return SecretStr in _plain_types(field.annotation) or bool(_SECRET_NAME.search(name))


def settings_rows(settings_class: type[BaseSettings]) -> list[SettingRow]:
    """A row per field of ``settings_class``, in the class's order."""
    rows = []
    for name, field in settings_class.model_fields.items():
        rows.append(
            SettingRow(
                variable=f"`{env_name(settings_class, name, field)}`",
                type=_type_text(field.annotation, field.metadata),
                default=_default_text(name, field),
                description=_cell(_sentence(field.description or "")),
            )
        )
    return rows


def _plain_types(annotation: Any) -> list[Any]:
    """``X | Y | None`` → ``[X, Y, None-type]``; anything else → ``[annotation]``."""
    if get_origin(annotation) in (Union, types.UnionType):
        return list(get_args(annotation))
    return [annotation]


def _type_text(annotation: Any, metadata: Sequence[Any] = ()) -> str:
    parts = _plain_types(annotation)
    names = [_one_type(t) for t in parts if t is not type(None)]
    text = " or ".join(names)
    bounds = _bounds(metadata)
    if bounds:
        text += ", " + bounds
    return _cell(text)


_TYPE_NAMES: dict[Any, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "text",
    Path: "path",
    SecretStr: "secret text",
}


def _one_type(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return " or ".join(f"`{value}`" for value in get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " or ".join(f"`{member.value}`" for member in annotation)
    if annotation in _TYPE_NAMES:
        return _TYPE_NAMES[annotation]
    name = getattr(annotation, "__name__", str(annotation))
    return {
        "AnyHttpUrl": "http(s) URL",
        "AnyUrl": "URL",
        "AwareDatetime": "date-time with offset (ISO 8601)",
        "datetime": "date-time (ISO 8601)",
    }.get(name, name)


def _bounds(metadata: Iterable[Any]) -> str:
    symbols = []
    for item in metadata:
        for attribute, symbol in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(item, attribute, None)
            if isinstance(item, annotated_types.BaseMetadata) and value is not None:
                symbols.append(f"{symbol} {_value_text(value)}")
    return ", ".join(symbols)


def _default_text(name: str, field: FieldInfo) -> str:
    default = field.get_default(call_default_factory=True)
    if is_secret(name, field):
        return "unset" if default is None else "required outside demo"
    if default is PydanticUndefined:
        return "required"
    if default is None:
        return "unset"
    if isinstance(default, str) and default == "":
        return "empty"
    return f"`{_value_text(default)}`"


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, float):
        return format(value, "g")
    return str(value)


# ----------------------------------------------------------------------------- the command line
#
# Duck-typed on purpose: typer builds its commands on click (older releases) or on its own
# vendored copy of it (0.29 on), and both have ``commands``, ``params``, ``opts``, ``envvar``,
# ``default`` and ``help``.


def cli_env_options(command: Any, path: str = "dho") -> Iterator[CliEnvOption]:
    """Every option (or argument) of ``command`` (a click-style command, e.g.
    ``typer.main.get_command(app)``) and its subcommands that reads a variable."""
    for param in getattr(command, "params", ()):
        envvar = getattr(param, "envvar", None)
        envvars = envvar if isinstance(envvar, list | tuple) else [envvar]
        for variable in envvars:
            if variable:
                opts = list(getattr(param, "opts", ()))
                option = max(opts, key=len) if opts else str(getattr(param, "name", ""))
                yield CliEnvOption(str(variable), path, option, param)
    commands = getattr(command, "commands", None) or {}
    for name in sorted(commands):
        yield from cli_env_options(commands[name], f"{path} {name}")


def _cli_rows(options: Iterable[CliEnvOption]) -> list[SettingRow]:
    by_variable: dict[str, list[CliEnvOption]] = {}
    for option in options:
        by_variable.setdefault(option.variable, []).append(option)
    rows = []
    for variable in sorted(by_variable):
        uses = by_variable[variable]
        defaults = {_cli_default(use.param) for use in uses}
        if len(defaults) == 1:
            default = defaults.pop()
        else:
            default = ", ".join(f"{_cli_default(u.param)} (`{u.command}`)" for u in uses)
        helps = dict.fromkeys(getattr(use.param, "help", None) or "" for use in uses)
        where = ", ".join(f"`{use.command} {use.option}`" for use in uses)
        description = " ".join(_sentence(text) for text in helps if text)
        rows.append(
            SettingRow(
                variable=f"`{variable}`",
                type=_cell(_cli_type(uses[0].param)),
                default=default,
                description=_cell(f"{description} Option {where}.".strip()),
            )
        )
    return rows


def _cli_default(param: Any) -> str:
    default = getattr(param, "default", None)
    if callable(default) or default is None:
        return "unset"
    return f"`{_value_text(default)}`"


_CLICK_TYPE_NAMES = {
    "integer": int,
    "integer range": int,
    "float": float,
    "float range": float,
    "text": str,
    "boolean": bool,
    "path": Path,
}


def _cli_type(param: Any) -> str:
    descriptor = getattr(param, "type_descriptor", None)  # typer ≥ 0.29
    kind: Any = getattr(param, "type", None)  # click
    choices = getattr(kind, "choices", None)
    if descriptor is not None:
        text = _type_text(descriptor.annotation)
    elif choices:
        text = " or ".join(f"`{choice}`" for choice in choices)
    else:
        name = str(getattr(kind, "name", "text"))
        text = _type_text(_CLICK_TYPE_NAMES.get(name, name))
    holder = param if hasattr(param, "min") else kind
    bounds = []
    low, high = getattr(holder, "min", None), getattr(holder, "max", None)
    if low is not None:
        bounds.append(f"{'>' if getattr(holder, 'min_open', False) else '≥'} {low}")
    if high is not None:
        bounds.append(f"{'<' if getattr(holder, 'max_open', False) else '≤'} {high}")
    return ", ".join([text, *bounds])


# ----------------------------------------------------------------------------- Markdown


def _cell(text: str) -> str:
    """One table cell: on one line, with ``|`` and HTML-looking ``<…>`` kept as text."""
    text = text.replace("|", "\\|").replace("<", "&lt;")
    return " ".join(text.split())


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return text
    first = text.split(" ", 1)[0]
    if first.isalpha() and first.islower():  # not a name such as mqtt://… or measured_at
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _table(rows: Sequence[SettingRow]) -> list[str]:
    lines = ["| variable | type | default | what it does |", "| --- | --- | --- | --- |"]
    lines += [f"| {r.variable} | {r.type} | {r.default} | {r.description} |" for r in rows]
    return lines


def render_settings_block(
    groups: Sequence[SettingsGroup] = SETTINGS_GROUPS,
    cli: Any = None,
) -> str:
    """The generated part of docs/operator.md, markers included (``cli``: the ``dho`` command,
    by default :data:`triage.cli.app`)."""
    if cli is None:
        import typer

        from triage.cli import app

        cli = typer.main.get_command(app)
    lines = [
        BEGIN,
        f"<!-- Generated by triage/settings_reference.py: regenerate with `{REGENERATE}`. -->",
        "",
    ]
    for group in groups:
        cls = group.settings_class
        prefix = env_prefix(cls)
        lines += [
            f"### {group.title}: `{prefix}…` (`{cls.__module__}.{cls.__name__}`)",
            "",
            group.read_by,
            "",
            *_table(settings_rows(cls)),
            "",
        ]
    lines += [
        "### Command-line options that read a variable",
        "",
        "An option given on the command line wins over its variable.",
        "",
        *_table(_cli_rows(cli_env_options(cli))),
        "",
        END,
    ]
    return "\n".join(lines)


def replace_block(page: str, block: str) -> str:
    """``page`` with the text from :data:`BEGIN` to :data:`END` replaced by ``block``."""
    current = current_block(page)
    if current is None:
        raise ValueError(f"no {BEGIN} … {END} block to replace")
    return page.replace(current, block, 1)


def current_block(page: str) -> str | None:
    """The block as it stands in ``page`` (markers included), or None."""
    start = page.find(BEGIN)
    end = page.find(END)
    if start < 0 or end < start:
        return None
    return page[start : end + len(END)]
