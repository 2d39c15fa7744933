"""Fail when the pure domain reads the clock or hidden randomness.

The device parsers (``devices/``), the triage domain (``triage/domain/``), the NEWS2 scorer
(``triage/news2.py``) and the FHIR mapping (``triage/fhir/``) must be deterministic: the
current time goes in as an argument (``now``), never read inside. This checker parses each
file with :mod:`ast` and reports:

* any reference to a clock read, called or not (``default_factory=datetime.now`` counts):
  ``datetime.now``/``utcnow``/``today``, ``date.today`` and every function of :mod:`time`,
  in any import form (``import datetime as dt; dt.datetime.now()``, ``from time import time``);
* ``import time`` / ``from time import ...`` at all;
* hidden randomness: anything from :mod:`random` or :mod:`secrets`, ``uuid.uuid1``,
  ``uuid.uuid4`` and ``os.urandom``;
* dynamic imports of those modules (``__import__("time")``, ``importlib.import_module("random")``).

Usage: ``python scripts/check_no_clock_reads.py [PATH ...]`` (default: the three paths above).
Exit status 0 when nothing is found, 1 when something is (each finding printed as
``file:line:col: message``), 2 when a path does not exist or a file does not parse.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PATHS: tuple[str, ...] = ("devices", "triage/domain", "triage/news2.py", "triage/fhir")
#: Below DEFAULT_PATHS but not pure by design: emulated Bluetooth devices run an event loop, and
#: simulated patients draw from a seeded random generator (both take their start time as input).
DEFAULT_EXCLUDE: tuple[str, ...] = ("devices/emulated", "devices/simulate")

# Modules whose every attribute is forbidden (reading them is reading the clock or randomness).
FORBIDDEN_MODULES: dict[str, str] = {
    "time": "clock read",
    "random": "hidden randomness",
    "secrets": "hidden randomness",
}

# Modules that must not even be imported in the pure domain.
FORBIDDEN_IMPORTS: dict[str, str] = {
    "time": "import of the clock module 'time' (pass `now` in instead)",
}

# Individual names that are forbidden, fully qualified.
FORBIDDEN_NAMES: dict[str, str] = {
    "datetime.datetime.now": "clock read",
    "datetime.datetime.utcnow": "clock read",
    "datetime.datetime.today": "clock read",
    "datetime.date.today": "clock read",
    "uuid.uuid1": "hidden randomness (uuid1 reads the clock and the MAC address)",
    "uuid.uuid4": "hidden randomness",
    "os.urandom": "hidden randomness",
}

_DYNAMIC_IMPORTERS = frozenset({"__import__", "importlib.import_module"})
_DYNAMICALLY_HIDDEN = frozenset({*FORBIDDEN_IMPORTS, *FORBIDDEN_MODULES, "uuid"})


@dataclass(frozen=True, order=True)
class Finding:
    """One forbidden construct at one place in one file."""

    filename: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.col}: {self.message}"


def forbidden_reason(qualified_name: str) -> str | None:
    """Why ``qualified_name`` (e.g. ``"datetime.datetime.now"``) is forbidden, or ``None``."""
    if qualified_name in FORBIDDEN_NAMES:
        return FORBIDDEN_NAMES[qualified_name]
    module, _, attribute = qualified_name.partition(".")
    if attribute and module in FORBIDDEN_MODULES:
        return FORBIDDEN_MODULES[module]
    return None


class _Checker(ast.NodeVisitor):
    """Collects findings; imports are bound per file, not per scope (strict on purpose)."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.findings: list[Finding] = []
        # Local name -> fully qualified name it stands for ("dt" -> "datetime").
        self.bindings: dict[str, str] = {}

    def _report(self, node: ast.expr | ast.stmt, message: str) -> None:
        self.findings.append(Finding(self.filename, node.lineno, node.col_offset + 1, message))

    # ------------------------------------------------------------------ imports

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            top = alias.name.partition(".")[0]
            if top in FORBIDDEN_IMPORTS:
                self._report(node, f"{FORBIDDEN_IMPORTS[top]}: `import {alias.name}`")
            if alias.asname is not None:
                self.bindings[alias.asname] = alias.name
            else:
                self.bindings[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or node.module is None:  # relative imports are our own code
            return
        top = node.module.partition(".")[0]
        if top in FORBIDDEN_IMPORTS:
            names = ", ".join(alias.name for alias in node.names)
            self._report(node, f"{FORBIDDEN_IMPORTS[top]}: `from {node.module} import {names}`")
        for alias in node.names:
            if alias.name == "*":
                self._bind_star(node, node.module)
                continue
            qualified = f"{node.module}.{alias.name}"
            self.bindings[alias.asname or alias.name] = qualified
            reason = forbidden_reason(qualified)
            if reason is not None and top not in FORBIDDEN_IMPORTS:  # reported once above
                self._report(node, f"{reason}: `from {node.module} import {alias.name}`")

    def _bind_star(self, node: ast.ImportFrom, module: str) -> None:
        """``from datetime import *`` binds ``datetime`` and ``date``; report forbidden names."""
        if module in FORBIDDEN_MODULES:
            self._report(node, f"{FORBIDDEN_MODULES[module]}: `from {module} import *`")
        prefix = f"{module}."
        for qualified in FORBIDDEN_NAMES:
            if qualified.startswith(prefix):
                first = qualified[len(prefix) :].partition(".")[0]
                self.bindings[first] = prefix + first

    # ------------------------------------------------------------------ references

    def _qualified_name(self, node: ast.expr) -> str | None:
        """The fully qualified name a ``Name``/``Attribute`` chain resolves to, if imported."""
        attributes: list[str] = []
        while isinstance(node, ast.Attribute):
            attributes.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        base = self.bindings.get(node.id)
        if base is None:
            return node.id if node.id == "__import__" and not attributes else None
        return ".".join([base, *reversed(attributes)])

    def _check_reference(self, node: ast.Name | ast.Attribute) -> bool:
        qualified = self._qualified_name(node)
        if qualified is None:
            return False
        reason = forbidden_reason(qualified)
        if reason is None:
            return False
        written = ast.unparse(node)
        resolved = "" if written == qualified else f" (resolves to {qualified})"
        self._report(node, f"{reason}: `{written}`{resolved}")
        return True

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if not self._check_reference(node):
            self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        self._check_reference(node)

    def visit_Call(self, node: ast.Call) -> None:
        if self._qualified_name(node.func) in _DYNAMIC_IMPORTERS and node.args:
            first = node.args[0]
            if (
                isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and first.value.partition(".")[0] in _DYNAMICALLY_HIDDEN
            ):
                self._report(node, f"dynamic import of {first.value!r} hides it from this checker")
        self.generic_visit(node)


def find_clock_reads(source: str, filename: str) -> list[Finding]:
    """All clock reads and hidden randomness in ``source``, sorted by position.

    Raises :class:`SyntaxError` when ``source`` does not parse.
    """
    tree = ast.parse(source, filename=filename)
    checker = _Checker(filename)
    checker.visit(tree)
    return sorted(set(checker.findings))


def iter_python_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every ``.py`` file under ``paths`` (files are taken as they are), in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*.py") if "__pycache__" not in p.parts and p.is_file()
            )
        else:
            yield path


def files_to_check(paths: Sequence[Path], excluded: Sequence[Path] = ()) -> list[Path]:
    """The Python files below ``paths``, without those below ``excluded``."""
    return [
        file
        for file in iter_python_files(paths)
        if not any(file.is_relative_to(e) for e in excluded)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Check the given paths (default :data:`DEFAULT_PATHS`); return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(arg in {"-h", "--help"} for arg in args):
        print(__doc__)  # noqa: T201 - this is a command-line tool
        return 0
    paths = [Path(arg) for arg in (args or DEFAULT_PATHS)]
    excluded = [] if args else [Path(p) for p in DEFAULT_EXCLUDE]
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        print(f"error: no such file or directory: {', '.join(missing)}", file=sys.stderr)  # noqa: T201
        return 2

    files = files_to_check(paths, excluded)
    findings: list[Finding] = []
    for file in files:
        try:
            findings.extend(find_clock_reads(file.read_text(encoding="utf-8"), str(file)))
        except SyntaxError as error:
            print(f"error: {file}: does not parse: {error}", file=sys.stderr)  # noqa: T201
            return 2

    for finding in findings:
        print(finding)  # noqa: T201
    if findings:
        print(  # noqa: T201
            f"checked {len(files)} files: {len(findings)} clock reads or hidden randomness "
            f"found; the pure domain must take `now` (and any ids) as arguments"
        )
        return 1
    print(f"checked {len(files)} files: no clock reads")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
