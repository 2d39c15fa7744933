"""Questionnaire definitions, the built-ins, and scoring answers into a colour."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from triage.domain.colours import Colour, Text
from triage.domain.questionnaires import (
    BUILTIN_QUESTIONNAIRES,
    SOURCES,
    Item,
    Option,
    Questionnaire,
    QuestionnaireError,
    ScoreBands,
    get_questionnaire,
    score,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "clinical" / "questionnaires.md"

COPD = get_questionnaire("copd-daily")
HF = get_questionnaire("hf-daily")


def best_answers(q: Questionnaire, **changes: str | int | bool) -> dict[str, str | int | bool]:
    """The best option of every item, with ``changes`` applied: a patient on a good day."""
    answers: dict[str, str | int | bool] = {item.id: item.options[0].value for item in q.items}
    answers.update(changes)
    return answers


def _t(nb: str, en: str) -> Text:
    return Text(nb=nb, en=en)


def _pain_scale() -> Questionnaire:
    """A small custom questionnaire whose option values are digits."""
    return Questionnaire(
        id="pain-scale",
        version=2,
        title=_t("Smerte", "Pain"),
        intro=_t("Hvor vondt har du?", "How much pain do you have?"),
        items=(
            Item(
                id="pain",
                text=_t("Smerte 0–2", "Pain 0–2"),
                options=tuple(
                    Option(value=str(n), label=_t(str(n), str(n)), points=n) for n in range(3)
                ),
            ),
            Item(
                id="new_confusion",
                text=_t("Ny forvirring?", "New confusion?"),
                options=(
                    Option(value="no", label=_t("Nei", "No")),
                    Option(value="yes", label=_t("Ja", "Yes"), points=1, red_flag=True),
                ),
            ),
        ),
        bands=ScoreBands(yellow_at=1, red_at=2),
    )


# ----------------------------------------------------------------------------- band edges

EDGES: list[tuple[Questionnaire, str, dict[str, str | int | bool], Colour]] = [
    (COPD, "yellow_at-1", {"cough": "more", "sputum_amount": "more"}, Colour.GREEN),
    (
        COPD,
        "yellow_at",
        {"cough": "more", "sputum_amount": "more", "reliever_use": "more"},
        Colour.YELLOW,
    ),
    (
        COPD,
        "red_at-1",
        {"breathlessness": "much_more", "cough": "much_more", "sputum_colour": "changed"},
        Colour.YELLOW,
    ),
    (
        COPD,
        "red_at",
        {
            "breathlessness": "much_more",
            "cough": "much_more",
            "sputum_colour": "changed",
            "sleep": "woke_breathing",
        },
        Colour.RED,
    ),
    (HF, "yellow_at-1", {"dizziness": "yes"}, Colour.GREEN),
    (HF, "yellow_at", {"dizziness": "yes", "night_cough": "yes"}, Colour.YELLOW),
    (
        HF,
        "red_at-1",
        {"swelling": "much_more", "sleep": "more_pillows", "night_cough": "yes"},
        Colour.YELLOW,
    ),
    (
        HF,
        "red_at",
        {
            "swelling": "much_more",
            "sleep": "more_pillows",
            "night_cough": "yes",
            "dizziness": "yes",
        },
        Colour.RED,
    ),
]


def _edge_total(q: Questionnaire, edge: str) -> int:
    assert q.bands.red_at is not None
    return {
        "yellow_at-1": q.bands.yellow_at - 1,
        "yellow_at": q.bands.yellow_at,
        "red_at-1": q.bands.red_at - 1,
        "red_at": q.bands.red_at,
    }[edge]


@pytest.mark.parametrize(
    ("q", "edge", "changes", "colour"), EDGES, ids=[f"{e[0].id}-{e[1]}" for e in EDGES]
)
def test_band_edges(
    q: Questionnaire, edge: str, changes: dict[str, str | int | bool], colour: Colour
) -> None:
    """The nurse sees green one point below the yellow band, yellow from it, red from red_at."""
    result = score(q, best_answers(q, **changes))
    assert result.total == _edge_total(q, edge)
    assert result.colour is colour
    assert result.red_flags == ()
    assert result.questionnaire_id == q.id
    assert result.version == q.version


def test_band_reason_names_score_band_and_questionnaire() -> None:
    """The nurse reads why it is yellow: the score, the band reached, and which questionnaire."""
    result = score(COPD, best_answers(COPD, cough="more", sputum_colour="changed"))
    assert result.band_reason == "score 3 ≥ yellow band 3 (copd-daily v1)"
    green = score(COPD, best_answers(COPD))
    assert green.colour is Colour.GREEN
    assert green.band_reason == "score 0 < yellow band 3 (copd-daily v1)"
    red = score(
        HF, best_answers(HF, swelling="much_more", sleep="woke_breathless", overall="worse")
    )
    assert red.band_reason == "score 5 ≥ red band 5 (hf-daily v1)"


def test_good_day_is_green_with_zero_points() -> None:
    """A patient who answers 'as usual' to everything is green with score 0."""
    for q in BUILTIN_QUESTIONNAIRES.values():
        result = score(q, best_answers(q))
        assert (result.total, result.colour, result.red_flags) == (0, Colour.GREEN, ())


# ----------------------------------------------------------------------------- red flags

RED_FLAG_OPTIONS = [
    (q, item.id, option.value)
    for q in BUILTIN_QUESTIONNAIRES.values()
    for item in q.items
    for option in item.options
    if option.red_flag
]


@pytest.mark.parametrize(
    ("q", "item_id", "value"),
    RED_FLAG_OPTIONS,
    ids=[f"{q.id}-{i}-{v}" for q, i, v in RED_FLAG_OPTIONS],
)
def test_every_red_flag_answer_alone_is_red(q: Questionnaire, item_id: str, value: str) -> None:
    """A single red-flag answer on an otherwise good day is red and names the item."""
    result = score(q, best_answers(q, **{item_id: value}))
    assert result.colour is Colour.RED
    assert result.red_flags == (item_id,)
    assert f"red flag: {item_id}" in result.band_reason


@pytest.mark.parametrize(
    ("q", "item_id"),
    [
        (COPD, "chest_pain"),
        (COPD, "new_confusion"),
        (HF, "chest_pain"),
        (HF, "fainted"),
        (HF, "new_confusion"),
    ],
)
def test_red_flag_is_red_below_the_yellow_band(q: Questionnaire, item_id: str) -> None:
    """Chest pain, fainting or new confusion is red even when the score alone would be green."""
    result = score(q, best_answers(q, **{item_id: "yes"}))
    assert result.total < q.bands.yellow_at
    assert result.colour is Colour.RED
    assert result.band_reason == f"red flag: {item_id} ({q.label})"


def test_red_flags_and_red_score_are_both_given_as_reasons() -> None:
    """When both a red flag and the red band apply, the nurse sees both reasons."""
    answers = best_answers(
        HF, breathlessness="at_rest", swelling="much_more", fainted="yes", dizziness=True
    )
    result = score(HF, answers)
    assert result.colour is Colour.RED
    assert result.red_flags == ("breathlessness", "fainted")
    assert result.total == 7
    assert result.band_reason == (
        "red flag: breathlessness, fainted; score 7 ≥ red band 5 (hf-daily v1)"
    )


def test_red_flag_is_red_even_when_plan_bands_are_high() -> None:
    """A plan's higher bands never silence a red-flag answer."""
    result = score(COPD, best_answers(COPD, chest_pain="yes"), yellow_at=15, red_at=16)
    assert result.colour is Colour.RED


# ----------------------------------------------------------------------------- plan bands


def test_plan_bands_override_the_questionnaire_bands() -> None:
    """A patient whose usual day scores 3 is green under the plan's yellow band of 4."""
    answers = best_answers(COPD, cough="more", sputum_amount="more", reliever_use="more")
    assert score(COPD, answers).colour is Colour.YELLOW
    overridden = score(COPD, answers, yellow_at=4)
    assert overridden.colour is Colour.GREEN
    assert overridden.band_reason == "score 3 < yellow band 4 (copd-daily v1, bands from the plan)"
    assert score(COPD, answers, red_at=3).colour is Colour.RED
    assert score(COPD, answers, yellow_at=2, red_at=4).colour is Colour.YELLOW
    assert score(COPD, answers, yellow_at=1, red_at=2).colour is Colour.RED


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"yellow_at": 8}, "yellow_at 8 must not be above red_at 7"),
        ({"yellow_at": 5, "red_at": 4}, "yellow_at 5 must not be above red_at 4"),
        ({"yellow_at": 0}, "at least 1"),
        ({"red_at": 17}, "red_at 17 can never be reached (the highest possible score is 16)"),
    ],
)
def test_unusable_plan_bands_are_refused(overrides: dict[str, int], fragment: str) -> None:
    """A plan with impossible bands is refused with a message the operator can fix."""
    with pytest.raises(QuestionnaireError, match="plan's score bands") as excinfo:
        score(COPD, best_answers(COPD), **overrides)
    assert fragment in str(excinfo.value)
    assert "copd-daily v1" in str(excinfo.value)


# ----------------------------------------------------------------------------- normalisation


def test_true_and_false_are_read_as_yes_and_no() -> None:
    """A tablet that sends true/false for a yes/no question is scored as yes/no."""
    result = score(HF, best_answers(HF, dizziness=True, night_cough=False, fainted=False))
    assert result.answers["dizziness"] == "yes"
    assert result.answers["night_cough"] == "no"
    assert result.answers["fainted"] == "no"
    assert result.total == 1
    assert score(HF, best_answers(HF, new_confusion=True)).colour is Colour.RED


def test_int_answers_are_read_as_their_digits() -> None:
    """A numeric answer 2 on a 0–2 scale is stored as "2" and scores its points."""
    q = _pain_scale()
    result = score(q, {"pain": 2, "new_confusion": False})
    assert result.answers == {"pain": "2", "new_confusion": "no"}
    assert result.total == 2
    assert result.colour is Colour.RED
    assert score(q, {"pain": "1", "new_confusion": "no"}).colour is Colour.YELLOW


def test_normalised_answers_cover_every_item_in_order() -> None:
    """The stored answers hold every item once, in the order the patient saw them."""
    result = score(COPD, best_answers(COPD, new_confusion=False))
    assert list(result.answers) == [item.id for item in COPD.items]
    assert all(isinstance(v, str) for v in result.answers.values())


# ----------------------------------------------------------------------------- errors


def test_missing_item_is_named_with_its_allowed_values() -> None:
    """An answer set without the chest-pain answer is refused, naming chest_pain."""
    answers = best_answers(COPD)
    del answers["chest_pain"]
    with pytest.raises(QuestionnaireError) as excinfo:
        score(COPD, answers)
    message = str(excinfo.value)
    assert "copd-daily v1" in message
    assert "item 'chest_pain' is not answered (allowed: no, yes)" in message


def test_unknown_item_is_named() -> None:
    """An answer to a question the questionnaire does not have is refused, naming it."""
    with pytest.raises(QuestionnaireError, match="unknown item 'weight_gain'") as excinfo:
        score(HF, best_answers(HF, weight_gain="yes"))
    assert "breathlessness" in str(excinfo.value)


def test_value_not_among_options_is_named_with_allowed_values() -> None:
    """A value the item does not offer is refused, naming the item and its allowed values."""
    with pytest.raises(QuestionnaireError) as excinfo:
        score(COPD, best_answers(COPD, sputum_colour="brown"))
    assert (
        "item 'sputum_colour': 'brown' is not an allowed answer (allowed: usual, changed)"
        in str(excinfo.value)
    )


@pytest.mark.parametrize(
    ("item_id", "value"),
    [("breathlessness", True), ("swelling", 1), ("overall", "As usual"), ("dizziness", "")],
)
def test_wrong_type_or_spelling_is_refused(item_id: str, value: str | int | bool) -> None:
    """A bool, a number or a label sent instead of an option value is refused, naming the item."""
    with pytest.raises(QuestionnaireError, match=f"item '{item_id}'"):
        score(HF, best_answers(HF, **{item_id: value}))


def test_every_problem_is_reported_at_once() -> None:
    """The operator sees all problems of an answer set in one message, not one at a time."""
    answers = best_answers(HF, fainted="maybe", extra="x")
    del answers["sleep"]
    with pytest.raises(QuestionnaireError) as excinfo:
        score(HF, answers)
    assert len(excinfo.value.problems) == 3
    for fragment in ("'sleep'", "'fainted'", "'extra'"):
        assert fragment in str(excinfo.value)


def test_unknown_questionnaire_lists_the_known_ones() -> None:
    """A plan naming a questionnaire that does not exist is refused with the known ids."""
    with pytest.raises(
        QuestionnaireError, match=r"unknown questionnaire 'cat' \(known: copd-daily, hf-daily\)"
    ):
        get_questionnaire("cat")


def test_questionnaire_error_is_a_value_error() -> None:
    """Callers that catch ValueError also catch questionnaire problems."""
    assert issubclass(QuestionnaireError, ValueError)


# ----------------------------------------------------------------------------- monotonic


@st.composite
def _answers_and_item(
    draw: st.DrawFn,
) -> tuple[Questionnaire, dict[str, str | int | bool], Item, Mapping[str, int]]:
    q = draw(st.sampled_from(list(BUILTIN_QUESTIONNAIRES.values())))
    answers: dict[str, str | int | bool] = {
        item.id: draw(st.sampled_from(item.values)) for item in q.items
    }
    item = draw(st.sampled_from(q.items))
    overrides: dict[str, int] = {}
    if draw(st.booleans()):
        yellow = draw(st.integers(1, q.max_score))
        overrides = {
            "yellow_at": yellow,
            "red_at": draw(st.integers(yellow, q.max_score)),
        }
    return q, answers, item, overrides


@given(case=_answers_and_item(), data=st.data())
def test_a_worse_answer_never_gives_a_better_colour(
    case: tuple[Questionnaire, dict[str, str | int | bool], Item, Mapping[str, int]],
    data: st.DataObject,
) -> None:
    """Answering any one question worse never turns the patient's colour better."""
    q, answers, item, overrides = case
    i = data.draw(st.integers(0, len(item.options) - 1))
    j = data.draw(st.integers(i, len(item.options) - 1))
    better, worse = item.options[i], item.options[j]
    assert better.points <= worse.points
    low = score(q, {**answers, item.id: better.value}, **overrides)
    high = score(q, {**answers, item.id: worse.value}, **overrides)
    assert high.total >= low.total
    assert high.colour.rank >= low.colour.rank


# ----------------------------------------------------------------------------- built-ins


def test_builtins_are_keyed_by_their_own_id() -> None:
    """Each built-in is found under its own id."""
    assert set(BUILTIN_QUESTIONNAIRES) == {"copd-daily", "hf-daily"}
    for qid, q in BUILTIN_QUESTIONNAIRES.items():
        assert q.id == qid
        assert get_questionnaire(qid) is q


@pytest.mark.parametrize("q", BUILTIN_QUESTIONNAIRES.values(), ids=BUILTIN_QUESTIONNAIRES.keys())
def test_builtins_have_bokmal_and_english_everywhere(q: Questionnaire) -> None:
    """Every title, question and answer can be shown in bokmål and in English."""
    texts: list[Text] = [q.title, q.intro]
    for item in q.items:
        texts.append(item.text)
        texts.extend(option.label for option in item.options)
    for text in texts:
        assert text.nb.strip()
        assert text.en.strip()
        assert text.nb != text.en


@pytest.mark.parametrize("q", BUILTIN_QUESTIONNAIRES.values(), ids=BUILTIN_QUESTIONNAIRES.keys())
def test_builtin_ids_are_unique_and_options_go_best_to_worst(q: Questionnaire) -> None:
    """Each question and answer has its own id; the first answer is always the best (0 points)."""
    ids = [item.id for item in q.items]
    assert len(ids) == len(set(ids))
    for item in q.items:
        assert len(item.values) == len(set(item.values))
        assert item.options[0].points == 0
        assert not item.options[0].red_flag
        points = [o.points for o in item.options]
        assert points == sorted(points)


@pytest.mark.parametrize("q", BUILTIN_QUESTIONNAIRES.values(), ids=BUILTIN_QUESTIONNAIRES.keys())
def test_builtins_ask_about_new_confusion_for_news2(q: Questionnaire) -> None:
    """Both check-ins ask about new confusion with no/yes, and yes is a red flag (NEWS2 'C')."""
    item = q.item("new_confusion")
    assert item is not None
    assert item.values == ("no", "yes")
    assert item.options[1].red_flag


@pytest.mark.parametrize("q", BUILTIN_QUESTIONNAIRES.values(), ids=BUILTIN_QUESTIONNAIRES.keys())
def test_builtin_sources_are_known_keys(q: Questionnaire) -> None:
    """Every source cited by a built-in is one of the documented source keys."""
    cited = set(q.sources).union(*(item.sources for item in q.items))
    assert cited <= set(SOURCES)
    assert "PROJECT" in q.sources


def test_builtin_bands_and_max_scores() -> None:
    """The project's starting bands: COPD yellow 3 / red 7, heart failure yellow 2 / red 5."""
    assert COPD.bands == ScoreBands(yellow_at=3, red_at=7)
    assert HF.bands == ScoreBands(yellow_at=2, red_at=5)
    assert COPD.max_score == 16
    assert HF.max_score == 14


def test_doc_describes_every_item_and_option() -> None:
    """The clinical doc shows every question and answer exactly as the patient sees it."""
    doc = DOC.read_text(encoding="utf-8")
    for q in BUILTIN_QUESTIONNAIRES.values():
        assert f"`{q.id}`" in doc
        for item in q.items:
            assert f"`{item.id}`" in doc
            for text in [item.text, *(o.label for o in item.options)]:
                assert text.nb in doc, text.nb
                assert text.en in doc, text.en
    for key in SOURCES:
        assert key in doc


# ----------------------------------------------------------------------------- definitions


def _item(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "cough",
        "text": {"nb": "Hoste?", "en": "Cough?"},
        "options": [
            {"value": "no", "label": {"nb": "Nei", "en": "No"}},
            {"value": "yes", "label": {"nb": "Ja", "en": "Yes"}, "points": 1},
        ],
    }
    data.update(changes)
    return data


def _questionnaire(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "test-q",
        "version": 1,
        "title": {"nb": "Test", "en": "Test"},
        "intro": {"nb": "Svar", "en": "Answer"},
        "items": [_item()],
        "bands": {"yellow_at": 1},
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (
            _questionnaire(items=[_item(), _item()]),
            "item ids must be unique: cough",
        ),
        (
            _questionnaire(
                items=[
                    _item(
                        options=[
                            {"value": "no", "label": {"nb": "Nei", "en": "No"}},
                            {"value": "no", "label": {"nb": "Nei", "en": "No"}},
                        ]
                    )
                ]
            ),
            "option values must be unique: no",
        ),
        (
            _questionnaire(bands={"yellow_at": 2, "red_at": 1}),
            "yellow_at (2) must not be above red_at (1)",
        ),
        (
            _questionnaire(bands={"yellow_at": 2}),
            "yellow_at 2 can never be reached",
        ),
        (
            _questionnaire(
                items=[
                    _item(
                        options=[
                            {"value": "bad", "label": {"nb": "Dårlig", "en": "Bad"}, "points": 1},
                            {"value": "good", "label": {"nb": "Bra", "en": "Good"}},
                        ]
                    )
                ]
            ),
            "points must not decrease",
        ),
        (
            _questionnaire(
                items=[
                    _item(
                        options=[
                            {"value": "no", "label": {"nb": "Nei", "en": "No"}},
                            {"value": "yes", "label": {"nb": "Ja", "en": "Yes"}, "red_flag": True},
                            {"value": "some", "label": {"nb": "Litt", "en": "Some"}},
                        ]
                    )
                ]
            ),
            "red-flag options come last",
        ),
        (
            _questionnaire(items=[_item(text={"nb": "Hoste?", "en": " "})]),
            "both bokmål (nb) and English (en)",
        ),
        (
            _questionnaire(items=[_item(id="Cough Today")]),
            "String should match pattern",
        ),
        (
            _questionnaire(items=[]),
            "at least 1 item",
        ),
    ],
)
def test_broken_definitions_are_refused(data: dict[str, Any], fragment: str) -> None:
    """A questionnaire that could mis-triage (duplicate ids, odd bands or order) never loads."""
    with pytest.raises(ValidationError, match=re.escape(fragment)):
        Questionnaire.model_validate(data)


def test_definitions_and_scores_are_frozen() -> None:
    """Nobody can change a questionnaire or a stored score after the fact."""
    with pytest.raises(ValidationError):
        COPD.version = 2  # type: ignore[misc]
    result = score(COPD, best_answers(COPD))
    with pytest.raises(ValidationError):
        result.total = 99  # type: ignore[misc]
