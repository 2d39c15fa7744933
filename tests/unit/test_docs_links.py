"""Links between the documentation pages lead somewhere: every relative link in README.md and
docs/ names a file that exists, and every ``#anchor`` into a page names one of its headings.
No page points outside the repository: a reader of it has only what is in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from triage.domain.template_docs import github_anchor

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
#: Every Markdown file of the repository (not those in hidden folders such as .venv, nor the
#: installed npm packages' of tests/fhir_server/node_modules).
ALL_PAGES = sorted(
    page
    for page in ROOT.rglob("*.md")
    if not any(
        part.startswith(".") or part == "node_modules" for part in page.relative_to(ROOT).parts
    )
)
#: Names of Markdown files that are patterns, not files (docs/decisions/README.md's format).
PATTERNS = {"NNNN-short-title.md"}

_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} (.+?)\s*$", re.M)
#: ``../``-relative paths anywhere in a page: links, code spans, prose.
_UP_PATH = re.compile(r"(?<![\w./-])(?:\.\./)+[^\s`)\]\"'<>]*")
#: Names of Markdown documents anywhere in a page, with the path before them if any.
_MD_NAME = re.compile(r"[\w./~-]*[\w-]\.md\b")


def links(page: Path) -> list[str]:
    """The link targets of ``page``, leaving out code blocks and code spans."""
    text = _CODE.sub("", _FENCE.sub("", page.read_text(encoding="utf-8")))
    return _LINK.findall(text)


def anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    return {github_anchor(heading) for heading in _HEADING.findall(text)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    """A reader following a link lands on the page and the section it names."""
    broken = []
    for link in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", link):  # https:, mailto:, …
            continue
        path, _, fragment = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(f"{link}: no such file")
        elif fragment and target.suffix == ".md" and fragment not in anchors(target):
            broken.append(f"{link}: no heading with that anchor")
    assert broken == []


@pytest.mark.parametrize("page", ALL_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_points_outside_the_repository(page: Path) -> None:
    """Every path and document a page names is in the repository: no ``../`` out of it, no
    absolute path to a document, no document the repository does not have."""
    text = page.read_text(encoding="utf-8")
    outside = [
        f"{path}: outside the repository"
        for path in _UP_PATH.findall(text)
        if not (page.parent / path).resolve().is_relative_to(ROOT)
    ]
    for name in _MD_NAME.findall(text):
        if name.startswith(("/", "~")):
            outside.append(f"{name}: an absolute path (link documents relatively)")
        elif name not in PATTERNS and not is_document(page, name):
            outside.append(f"{name}: no such document in the repository")
    assert outside == []


def is_document(page: Path, name: str) -> bool:
    """``name`` is a Markdown file of the repository: seen from ``page``'s folder, from the
    top, or as the end of a path (``contracts/receipts.md``, ``receipts.md`` in a sentence)."""
    if (page.parent / name).resolve().is_relative_to(ROOT) and (page.parent / name).exists():
        return True
    clean = name.removeprefix("./")
    return any(f"/{p.relative_to(ROOT).as_posix()}".endswith(f"/{clean}") for p in ALL_PAGES)
