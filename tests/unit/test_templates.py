"""Condition templates: sources for every number, the generated docs, and clinical sanity rows."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from triage.domain.classify import History, classify
from triage.domain.colours import Colour
from triage.domain.plan import (
    BaselineRule,
    CombinationRule,
    Condition,
    Limit,
    MissingMeasurementRule,
    News2Rule,
    PlanStatus,
    PlanVersion,
    QuestionnaireRule,
    TrendRule,
)
from triage.domain.questionnaires import BUILTIN_QUESTIONNAIRES
from triage.domain.questionnaires import SOURCES as QUESTIONNAIRE_SOURCES
from triage.domain.readings import PLAUSIBLE, Kind, Reading
from triage.domain.template_docs import (
    REGENERATE,
    render_templates_markdown,
    source_keys_used,
)
from triage.domain.templates import TEMPLATES, template

DOCS = Path(__file__).resolve().parents[2] / "docs" / "clinical"
SOURCES_MD = DOCS / "sources.md"
TEMPLATES_MD = DOCS / "templates.md"
PLAUSIBILITY_MD = DOCS / "plausibility.md"

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

PLANS = {condition: make() for condition, make in TEMPLATES.items()}
CONDITIONS = list(TEMPLATES)


def slug(heading: str) -> str:
    """GitHub's heading anchor: lower-case, punctuation (but - and _) dropped, spaces → -."""
    text = heading.strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in "-_ ")
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every heading anchor of a Markdown text, with GitHub's -1, -2 suffixes for repeats."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for match in re.finditer(r"^#{1,6} +(.+?) *#*$", markdown, flags=re.MULTILINE):
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def without_code(markdown: str) -> str:
    """Markdown with inline code spans removed (examples such as `[KEY]` are not citations)."""
    return re.sub(r"`[^`\n]*`", "", markdown)


def source_entries() -> set[str]:
    """The keys with a ``### [KEY]`` entry in sources.md."""
    text = SOURCES_MD.read_text(encoding="utf-8")
    return set(re.findall(r"^### \[([^\]]+)\]\s*$", text, flags=re.MULTILINE))


def section(condition: Condition) -> str:
    """The part of templates.md about one condition."""
    doc = render_templates_markdown()
    parts = re.split(r"^## ", doc, flags=re.MULTILINE)
    marker = f"Condition code `{condition.value}`."
    matching = [p for p in parts if marker in p]
    assert len(matching) == 1, f"no single section for {condition}"
    return matching[0]


_ids = itertools.count(1)


def reading(kind: Kind, values: dict[str, float], at: datetime = NOW) -> Reading:
    """A synthetic reading of ``kind`` with ``values``, with an id of its own."""
    return Reading(id=f"r{next(_ids)}", kind=kind, measured_at=at, values=values)


def colour_of(condition: Condition, kind: Kind, **values: float) -> Colour:
    """The colour the template gives one reading with no history."""
    return classify(reading(kind, values), template(condition), History(), NOW).colour


# ----------------------------------------------------------------------------- (a) sources


def sourced_parts(plan: PlanVersion) -> Iterator[tuple[str, tuple[str, ...]]]:
    for parameter, zones in plan.zones.items():
        yield f"zones {parameter.value}", zones.sources
    for rule in plan.rules:
        yield f"rule {rule.id}", rule.sources
    for n, item in enumerate(plan.schedule.items, start=1):
        yield f"schedule item {n}", item.sources
    yield "plan", plan.sources


@pytest.mark.parametrize("condition", CONDITIONS)
def test_every_template_part_cites_a_source(condition: Condition) -> None:
    """No number in a template is without a source a clinician can look up."""
    unsourced = [name for name, keys in sourced_parts(PLANS[condition]) if not keys]
    assert not unsourced, f"{condition}: no source for {', '.join(unsourced)}"


# ----------------------------------------------------------------------------- (b) sources.md


def test_every_source_key_has_an_entry() -> None:
    """Every source cited by a template or questionnaire can be found in sources.md."""
    missing = sorted((source_keys_used() | set(QUESTIONNAIRE_SOURCES)) - source_entries())
    assert not missing, f"add '### [KEY]' entries to docs/clinical/sources.md for: {missing}"


def test_source_keys_used_covers_templates_and_questionnaires() -> None:
    """The key collector sees zone, rule, schedule, plan and questionnaire-item sources."""
    keys = source_keys_used()
    assert {"RCP-N2", "HFM-WEIGHT", "COPDX-TELESCOT", "VV-KOLS", "HDIR-SPREDNING"} <= keys
    item_keys = {k for q in BUILTIN_QUESTIONNAIRES.values() for i in q.items for k in i.sources}
    assert item_keys <= keys
    assert "PROJECT" in keys


def test_every_key_cited_in_the_clinical_docs_has_an_entry() -> None:
    """A [KEY] written in any clinical document points to a real citation."""
    entries = source_entries()
    missing: dict[str, list[str]] = {}
    for path in sorted(DOCS.glob("*.md")):
        text = without_code(path.read_text(encoding="utf-8"))
        for key in re.findall(r"\[([A-Z][A-Z0-9]*(?:[-.][A-Z0-9]+)*)\]", text):
            if key not in entries:
                missing.setdefault(path.name, []).append(key)
    assert not missing, f"keys without an entry in sources.md: {missing}"


def test_every_link_to_sources_md_resolves_to_an_entry() -> None:
    """Clicking a source link in the clinical docs lands on that source's entry."""
    targets = anchors(SOURCES_MD.read_text(encoding="utf-8"))
    broken: list[str] = []
    for path in sorted(DOCS.glob("*.md")):
        text = without_code(path.read_text(encoding="utf-8"))
        links = re.findall(r"\]\(sources\.md#([^)\s]+)\)", text)
        if path == SOURCES_MD:
            links += re.findall(r"\]\(#([^)\s]+)\)", text)
        broken += [f"{path.name}: #{a}" for a in links if a not in targets]
    assert not broken, f"links to missing anchors in sources.md: {broken}"


def test_source_anchor_slug_matches_githubs() -> None:
    """The anchors the docs link to are the ones GitHub renders for the headings."""
    assert slug("[RCP-N2]") == "rcp-n2"
    assert slug("[HDIR-SLUTT-6.5]") == "hdir-slutt-65"
    assert slug("[IEC60601-1-8]") == "iec60601-1-8"
    assert "[RCP-N2](sources.md#rcp-n2)" in render_templates_markdown()


# ----------------------------------------------------------------------------- (c) templates.md


def test_templates_md_is_up_to_date() -> None:
    """The template document a clinician reads is exactly what the code does."""
    committed = TEMPLATES_MD.read_text(encoding="utf-8") if TEMPLATES_MD.exists() else ""
    assert committed == render_templates_markdown(), (
        f"docs/clinical/templates.md is out of date; regenerate it with `{REGENERATE}`"
    )


def test_templates_md_says_it_is_generated_and_how() -> None:
    """Nobody edits the generated document by hand: it says so, and how to regenerate it."""
    head = render_templates_markdown()[:800]
    assert "generated" in head
    assert REGENERATE in head


# ----------------------------------------------------------------------------- (d) numbers


def duration_texts(span: timedelta) -> set[str]:
    hours = span.total_seconds() / 3600
    days = hours / 24
    texts = {f"{hours:g} h"}
    if days == int(days):
        texts.add(f"{days:g} day" + ("" if days == 1 else "s"))
    return texts


def expected_texts(plan: PlanVersion) -> Iterator[tuple[str, set[str]]]:
    """(what, texts of which one must appear) for every number in the plan."""
    for parameter, zones in plan.zones.items():
        unit = parameter.unit
        for name, low in (("red_low", zones.red_low), ("yellow_low", zones.yellow_low)):
            if low is not None:
                yield f"{parameter} {name}", {low.describe_low(unit)}
        for name, high in (("yellow_high", zones.yellow_high), ("red_high", zones.red_high)):
            if high is not None:
                yield f"{parameter} {name}", {high.describe_high(unit)}
        if zones.yellow_after is not None:
            hold = zones.yellow_after
            yield f"{parameter} sustained", {f"{hold.n} of the last {hold.m} readings"}
    for rule in plan.rules:
        what = f"rule {rule.id}"
        if isinstance(rule, TrendRule):
            unit = rule.parameter.unit
            yield f"{what} window", duration_texts(rule.window)
            for limit in (rule.rise, rule.fall):
                if limit is not None:
                    yield f"{what} change", {limit.describe_high(unit)}
        elif isinstance(rule, BaselineRule):
            yield f"{what} change", {rule.change.describe_high(rule.parameter.unit)}
            if rule.baseline_days is not None:
                yield f"{what} days", {f"{rule.baseline_days} days"}
                yield f"{what} minimum", {f"at least {rule.min_readings} readings"}
            if rule.yellow_after is not None:
                hold = rule.yellow_after
                yield f"{what} sustained", {f"{hold.n} of the last {hold.m} readings"}
        elif isinstance(rule, CombinationRule):
            yield f"{what} groups", {f"at least {rule.min_groups} different groups"}
            yield f"{what} window", duration_texts(rule.within)
        elif isinstance(rule, QuestionnaireRule):
            bands = BUILTIN_QUESTIONNAIRES[rule.questionnaire].bands
            yield f"{what} yellow", {f"from a total of {rule.yellow_at or bands.yellow_at}"}
            yield f"{what} red", {f"from {rule.red_at or bands.red_at}"}
        elif isinstance(rule, News2Rule):
            yield f"{what} window", duration_texts(rule.window)
            yield f"{what} bands", {f"risk `{rule.yellow_from}`", f"risk `{rule.red_from}`"}
        elif isinstance(rule, MissingMeasurementRule) and rule.grace:
            yield f"{what} grace", duration_texts(rule.grace)
    for n, item in enumerate(plan.schedule.items, start=1):
        yield f"schedule item {n} due", {f"{item.due_by:%H:%M}"}
    yield "time zone", {plan.schedule.timezone}
    yield "SpO2 scale", {f"scale {plan.spo2_scale}"}


@pytest.mark.parametrize("condition", CONDITIONS)
def test_every_number_of_a_template_is_in_its_section_of_templates_md(
    condition: Condition,
) -> None:
    """No bound, window or deadline of a template is missing from what clinicians review."""
    text = section(condition)
    absent = [
        f"{what}: {sorted(texts)}"
        for what, texts in expected_texts(PLANS[condition])
        if not any(t in text for t in texts)
    ]
    assert not absent, f"{condition}: not in templates.md: {absent}"


def test_limit_symbols_show_inclusive_and_strict_bounds() -> None:
    """A clinician can tell "≤ 92" from "< 92" in the rendered bounds."""
    assert Limit(value=92).describe_low("%") == "≤ 92 %"
    assert Limit(value=3.0, inclusive=False).describe_low("mmol/L") == "< 3 mmol/L"
    heart_failure = section(Condition.HEART_FAILURE)
    assert "< 80 mmHg" in heart_failure
    assert "> 170 mmHg" in heart_failure


# ----------------------------------------------------------------------------- (e) plausibility


def plausibility_rows() -> dict[str, tuple[float, float]]:
    text = PLAUSIBILITY_MD.read_text(encoding="utf-8")
    rows: dict[str, tuple[float, float]] = {}
    for line in text.splitlines():
        match = re.match(r"^\| `([a-z_0-9]+)` \| [^|]+ \| ([0-9.]+) \| ([0-9.]+) \|", line)
        if match:
            rows[match.group(1)] = (float(match.group(2)), float(match.group(3)))
    return rows


def test_plausibility_table_matches_the_code() -> None:
    """The documented data-error limits are the ones the service applies."""
    expected = {parameter.value: limits for parameter, limits in PLAUSIBLE.items()}
    assert plausibility_rows() == expected


def test_plausibility_table_gives_units_reasons_and_sources() -> None:
    """Every plausibility row says its unit, why, and where the number comes from."""
    text = PLAUSIBILITY_MD.read_text(encoding="utf-8")
    for parameter in PLAUSIBLE:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{parameter}` |"))
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[1] == parameter.unit, parameter
        assert len(cells[4]) > 20, f"{parameter}: give a reason"
        assert "](sources.md#" in cells[5], f"{parameter}: give a source"


# ----------------------------------------------------------------------------- (f) sanity rows

SPO2_ROWS = [
    (Condition.COVID19, 92, Colour.RED),
    (Condition.COVID19, 93, Colour.YELLOW),
    (Condition.COVID19, 94, Colour.YELLOW),
    (Condition.COVID19, 95, Colour.GREEN),
    (Condition.COPD, 87, Colour.RED),
    (Condition.COPD, 88, Colour.YELLOW),
    (Condition.COPD, 91, Colour.YELLOW),
    (Condition.COPD, 92, Colour.GREEN),
    (Condition.HEART_FAILURE, 91, Colour.RED),
    (Condition.HEART_FAILURE, 93, Colour.YELLOW),
    (Condition.HEART_FAILURE, 94, Colour.GREEN),
]


@pytest.mark.parametrize(("condition", "spo2", "expected"), SPO2_ROWS)
def test_spo2_rows(condition: Condition, spo2: float, expected: Colour) -> None:
    """SpO2 at and one step past each bound gets the colour the guideline gives it."""
    assert colour_of(condition, Kind.SPO2, spo2=spo2) is expected


HEART_FAILURE_SYSTOLIC_ROWS = [
    (79, Colour.RED),
    (80, Colour.YELLOW),
    (99, Colour.YELLOW),
    (100, Colour.GREEN),
    (160, Colour.GREEN),
    (161, Colour.YELLOW),
    (170, Colour.YELLOW),
    (171, Colour.RED),
]


@pytest.mark.parametrize(("systolic", "expected"), HEART_FAILURE_SYSTOLIC_ROWS)
def test_heart_failure_systolic_rows(systolic: float, expected: Colour) -> None:
    """Heart failure: systolic < 80 or > 170 red, < 100 or > 160 yellow (BEAT-HF)."""
    colour = colour_of(
        Condition.HEART_FAILURE, Kind.BLOOD_PRESSURE, systolic=systolic, diastolic=60
    )
    assert colour is expected


GLUCOSE_ROWS = [
    (2.9, Colour.RED),
    (3.0, Colour.YELLOW),
    (3.9, Colour.YELLOW),
    (4.0, Colour.GREEN),
    (13.9, Colour.GREEN),
    (14.0, Colour.GREEN),  # a single high yellow is held back: 2 in a row are needed
    (19.9, Colour.GREEN),
    (20.0, Colour.RED),
    (25.0, Colour.RED),
]


@pytest.mark.parametrize(("glucose", "expected"), GLUCOSE_ROWS)
def test_diabetes_glucose_rows(glucose: float, expected: Colour) -> None:
    """Diabetes: < 3.0 red, < 4.0 yellow at once, ≥ 20 red at once; one high is not yellow."""
    assert colour_of(Condition.DIABETES, Kind.GLUCOSE, glucose=glucose) is expected


def test_diabetes_two_high_glucose_readings_in_a_row_are_yellow() -> None:
    """Diabetes: glucose above 13.9 twice in a row is yellow; once is green."""
    plan = template(Condition.DIABETES)
    earlier = reading(Kind.GLUCOSE, {"glucose": 14.0}, at=NOW - timedelta(days=1))
    assert classify(earlier, plan, History(), NOW).colour is Colour.GREEN
    second = classify(
        reading(Kind.GLUCOSE, {"glucose": 14.0}), plan, History(readings=(earlier,)), NOW
    )
    assert second.colour is Colour.YELLOW


def test_diabetes_a_high_after_a_normal_reading_stays_green() -> None:
    """Diabetes: one high glucose after a normal one is not yet yellow."""
    plan = template(Condition.DIABETES)
    earlier = reading(Kind.GLUCOSE, {"glucose": 8.0}, at=NOW - timedelta(days=1))
    result = classify(
        reading(Kind.GLUCOSE, {"glucose": 14.0}), plan, History(readings=(earlier,)), NOW
    )
    assert result.colour is Colour.GREEN


HYPERTENSION_ROWS = [
    (159, 99, Colour.GREEN),
    (160, 99, Colour.YELLOW),
    (179, 99, Colour.YELLOW),  # systolic 160–179 is yellow, whatever the diastolic
    (179, 109, Colour.YELLOW),
    (180, 80, Colour.RED),
    (140, 100, Colour.YELLOW),
    (140, 109, Colour.YELLOW),
    (140, 110, Colour.RED),
    (91, 60, Colour.GREEN),
    (90, 60, Colour.RED),
]


@pytest.mark.parametrize(("systolic", "diastolic", "expected"), HYPERTENSION_ROWS)
def test_hypertension_rows(systolic: float, diastolic: float, expected: Colour) -> None:
    """Hypertension: ≥ 160/100 yellow, ≥ 180/110 red, systolic ≤ 90 red (ESC 2024, NEWS2)."""
    colour = colour_of(
        Condition.HYPERTENSION, Kind.BLOOD_PRESSURE, systolic=systolic, diastolic=diastolic
    )
    assert colour is expected


PULSE_ROWS = [
    (Condition.COPD, 40, Colour.RED),
    (Condition.COPD, 41, Colour.YELLOW),
    (Condition.COPD, 51, Colour.GREEN),
    (Condition.COPD, 100, Colour.GREEN),
    (Condition.COPD, 101, Colour.YELLOW),
    (Condition.COPD, 130, Colour.YELLOW),
    (Condition.COPD, 131, Colour.RED),
    (Condition.COVID19, 110, Colour.YELLOW),
    (Condition.COVID19, 111, Colour.RED),
    (Condition.HEART_FAILURE, 110, Colour.YELLOW),
    (Condition.HEART_FAILURE, 111, Colour.RED),
]


@pytest.mark.parametrize(("condition", "pulse", "expected"), PULSE_ROWS)
def test_pulse_rows(condition: Condition, pulse: float, expected: Colour) -> None:
    """Pulse at and one step past each bound: ≤ 40 and ≥ 131 (NEWS2 3) are red."""
    assert colour_of(condition, Kind.HEART_RATE, pulse=pulse) is expected


# ----------------------------------------------------------------------------- (g) shape


@pytest.mark.parametrize("condition", CONDITIONS)
def test_template_is_an_unapproved_first_draft(condition: Condition) -> None:
    """A template can never be used on a patient as it stands: it is a draft, version 1."""
    plan = PLANS[condition]
    assert plan.status is PlanStatus.DRAFT
    assert plan.approval is None
    assert plan.version == 1
    assert plan.condition is condition


@pytest.mark.parametrize("condition", CONDITIONS)
def test_template_round_trips_through_json(condition: Condition) -> None:
    """A template saved as a plan file and read back is the same plan."""
    plan = PLANS[condition]
    assert PlanVersion.from_json(plan.to_json()) == plan


@pytest.mark.parametrize("condition", CONDITIONS)
def test_template_says_what_to_do_in_every_zone_in_both_languages(condition: Condition) -> None:
    """Patient and nurse get advice for green, yellow and red, in bokmål and English."""
    plan = PLANS[condition]
    for colour in Colour:
        actions = plan.actions[colour]
        for who in (actions.patient, actions.nurse):
            assert who.nb.strip(), f"{condition} {colour}: no bokmål text"
            assert who.en.strip(), f"{condition} {colour}: no English text"
        assert actions.codes, f"{condition} {colour}: no action code"


@pytest.mark.parametrize("condition", CONDITIONS)
def test_red_advice_tells_the_patient_whom_to_call(condition: Condition) -> None:
    """Red advice stands on its own when the centre is closed: it names 113 or 116 117."""
    red = PLANS[condition].actions[Colour.RED].patient
    for text in (red.nb, red.en):
        assert "113" in text or "116 117" in text


@pytest.mark.parametrize("condition", CONDITIONS)
def test_schedule_times_are_local_and_questionnaires_exist(condition: Condition) -> None:
    """Every scheduled item is due at a local time, and names a questionnaire DHO has."""
    plan = PLANS[condition]
    assert plan.schedule.items
    for item in plan.schedule.items:
        assert isinstance(item.due_by, time)
        assert item.due_by.tzinfo is None
        if item.questionnaire is not None:
            assert item.questionnaire in BUILTIN_QUESTIONNAIRES
    for rule in plan.rules:
        if isinstance(rule, QuestionnaireRule):
            assert rule.questionnaire in BUILTIN_QUESTIONNAIRES


def test_there_is_a_template_for_every_condition() -> None:
    """Every condition DHO knows has its own starting plan."""
    assert set(TEMPLATES) == set(Condition)
    plan_ids = [p.plan_id for p in PLANS.values()]
    assert len(set(plan_ids)) == len(plan_ids)
    assert all(pid.startswith("template-") for pid in plan_ids)
