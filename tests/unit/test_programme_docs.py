"""docs/programme.md defines every figure of the programme view: its definitions block is
generated from the code (``dho docs programme --write``) and kept current."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from triage.cli import app
from triage.domain.access import ProgrammeSection
from triage.programme.docs import BEGIN, END, REGENERATE, current_block, render_programme_block
from triage.programme.registry import DEFINITIONS
from triage.programme.view import SECTION_TITLES

ROOT = Path(__file__).resolve().parents[2]
PROGRAMME_MD = ROOT / "docs" / "programme.md"
runner = CliRunner()


def test_the_definitions_in_programme_md_are_current() -> None:
    """A leader reading docs/programme.md reads the definitions the page shows today."""
    block = current_block(PROGRAMME_MD.read_text(encoding="utf-8"))
    assert block is not None, f"docs/programme.md has no {BEGIN} … {END} block"
    assert block == render_programme_block(), (
        f"docs/programme.md's definitions are out of date: regenerate them with `{REGENERATE}`"
    )


def test_every_section_has_a_heading_and_every_definition_its_text_and_source() -> None:
    block = render_programme_block()
    for section in ProgrammeSection:
        assert f"## {SECTION_TITLES[section].nb} ({SECTION_TITLES[section].en})" in block
    for definition in DEFINITIONS.values():
        assert f"`{definition.id}`" in block
        assert " ".join(definition.definition.nb.split()) in block
        assert " ".join(definition.source.nb.split()) in block
        assert " ".join(definition.source.en.split()) in block


def test_write_replaces_only_the_block(tmp_path: Path) -> None:
    page = tmp_path / "programme.md"
    page.write_text(f"# Hand-written\n\nIntro.\n\n{BEGIN}\nold\n{END}\n\nAfter.\n", "utf-8")
    result = runner.invoke(app, ["docs", "programme", "--write", "--file", str(page)])
    assert result.exit_code == 0, result.output
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Hand-written\n\nIntro.\n\n")
    assert text.endswith(f"{END}\n\nAfter.\n")
    assert current_block(text) == render_programme_block()


def test_write_says_why_when_the_page_has_no_block(tmp_path: Path) -> None:
    page = tmp_path / "programme.md"
    page.write_text("# No block here\n", "utf-8")
    result = runner.invoke(app, ["docs", "programme", "--write", "--file", str(page)])
    assert result.exit_code == 2
    assert "no <!-- programme:begin -->" in result.output
