"""Symptom questionnaires: definitions, the two built-ins, and scoring into a colour.

A questionnaire is a list of items; each item has options ordered from best to worst, each
option worth some points, and some options are *red flags* (red whatever the total). The total
is compared with the score bands: red at or above ``red_at``, yellow at or above ``yellow_at``,
green below. A plan may set its own bands for a patient.

The built-ins (``copd-daily``, ``hf-daily``) were written for this project in plain language;
they are not validated instruments. Items, points, red flags, bands and their sources are in
``docs/clinical/questionnaires.md``; the bands are [PROJECT] starting points to be reviewed by
clinicians.

Invariants checked on every definition, so that a worse answer never gives a better colour:
option points never decrease from the first (best) option to the last (worst), and once an
option is a red flag every later option is one too.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from triage.domain.colours import Colour, Text

__all__ = [
    "BUILTIN_QUESTIONNAIRES",
    "SOURCES",
    "Item",
    "Option",
    "Questionnaire",
    "QuestionnaireError",
    "QuestionnaireScore",
    "ScoreBands",
    "get_questionnaire",
    "score",
]


class QuestionnaireError(ValueError):
    """An answer set that cannot be scored, bands that cannot be used, or an unknown id.

    ``problems`` holds each problem on its own (the message joins them).
    """

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = problems or (message,)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


_QUESTIONNAIRE_ID = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
_ITEM_ID = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"
_OPTION_VALUE = r"^[a-z0-9]+(_[a-z0-9]+)*$"


def _require_both_languages(text: Text, what: str) -> None:
    if not text.nb.strip() or not text.en.strip():
        raise ValueError(f"{what} needs text in both bokmål (nb) and English (en)")


class Option(_Frozen):
    """One answer to an item. ``value`` is what the tablet sends (``"yes"``, ``"much_more"``)."""

    value: str = Field(pattern=_OPTION_VALUE)
    label: Text
    points: int = Field(default=0, ge=0)
    red_flag: bool = False

    @model_validator(mode="after")
    def _bilingual(self) -> Self:
        _require_both_languages(self.label, f"option '{self.value}'")
        return self


class Item(_Frozen):
    """One question, with its options ordered from best to worst."""

    id: str = Field(pattern=_ITEM_ID)
    text: Text
    options: tuple[Option, ...] = Field(min_length=2)
    sources: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _require_both_languages(self.text, f"item '{self.id}'")
        values = [o.value for o in self.options]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise ValueError(f"item '{self.id}': option values must be unique: {', '.join(dupes)}")
        for before, after in zip(self.options, self.options[1:], strict=False):
            if after.points < before.points:
                raise ValueError(
                    f"item '{self.id}': options go from best to worst, so points must not "
                    f"decrease ('{before.value}' {before.points} is followed by "
                    f"'{after.value}' {after.points})"
                )
            if before.red_flag and not after.red_flag:
                raise ValueError(
                    f"item '{self.id}': red-flag options come last (red flag '{before.value}' "
                    f"is followed by '{after.value}', which is not one)"
                )
        return self

    @property
    def values(self) -> tuple[str, ...]:
        """The allowed answer values, best first."""
        return tuple(o.value for o in self.options)

    @property
    def max_points(self) -> int:
        return max(o.points for o in self.options)

    def option(self, value: str) -> Option | None:
        """The option answered by ``value``; None when ``value`` is not allowed."""
        return next((o for o in self.options if o.value == value), None)


class ScoreBands(_Frozen):
    """Yellow from ``yellow_at`` points; red from ``red_at`` (None: never red on score alone)."""

    yellow_at: int = Field(ge=1)
    red_at: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.red_at is not None and self.yellow_at > self.red_at:
            raise ValueError(
                f"yellow_at ({self.yellow_at}) must not be above red_at ({self.red_at})"
            )
        return self


class Questionnaire(_Frozen):
    """One version of a questionnaire. A changed wording or score is a new ``version``."""

    id: str = Field(pattern=_QUESTIONNAIRE_ID)
    version: int = Field(ge=1)
    title: Text
    intro: Text
    items: tuple[Item, ...] = Field(min_length=1)
    bands: ScoreBands
    sources: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _require_both_languages(self.title, f"questionnaire '{self.id}' title")
        _require_both_languages(self.intro, f"questionnaire '{self.id}' intro")
        ids = [item.id for item in self.items]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"item ids must be unique: {', '.join(dupes)}")
        problem = _unreachable(self.bands, self.max_score)
        if problem:
            raise ValueError(problem)
        return self

    @property
    def label(self) -> str:
        """How reasons name this version: ``"copd-daily v1"``."""
        return f"{self.id} v{self.version}"

    @property
    def max_score(self) -> int:
        """The highest total possible: the worst option of every item."""
        return sum(item.max_points for item in self.items)

    def item(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)


def _unreachable(bands: ScoreBands, max_score: int) -> str | None:
    for name, at in (("yellow_at", bands.yellow_at), ("red_at", bands.red_at)):
        if at is not None and at > max_score:
            return f"{name} {at} can never be reached (the highest possible score is {max_score})"
    return None


class QuestionnaireScore(_Frozen):
    """The scored answer set: total, colour, why, and the red-flag items."""

    questionnaire_id: str
    version: int
    total: int
    colour: Colour
    band_reason: str
    red_flags: tuple[str, ...]
    answers: dict[str, str]


def _normalise(value: object) -> str | None:
    """``True``/``False`` → ``"yes"``/``"no"``; an int → its digits; a str as it is."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    return None


def _allowed(item: Item) -> str:
    return ", ".join(item.values)


def score(
    questionnaire: Questionnaire,
    answers: Mapping[str, str | int | bool],
    *,
    yellow_at: int | None = None,
    red_at: int | None = None,
) -> QuestionnaireScore:
    """Score ``answers`` to ``questionnaire``; ``yellow_at``/``red_at`` are a plan's own bands.

    Every item must be answered with one of its option values (``True``/``False`` are read as
    ``"yes"``/``"no"``, an int as its digits). Red when any chosen option is a red flag or the
    total reaches ``red_at``; yellow when it reaches ``yellow_at``; green otherwise. Anything
    that cannot be scored is a :class:`QuestionnaireError` naming every problem.
    """
    bands = score_bands(questionnaire, yellow_at, red_at)
    label = questionnaire.label
    problems: list[str] = []
    normalised: dict[str, str] = {}
    total = 0
    red_flags: list[str] = []
    for item in questionnaire.items:
        if item.id not in answers:
            problems.append(f"item '{item.id}' is not answered (allowed: {_allowed(item)})")
            continue
        raw = answers[item.id]
        value = _normalise(raw)
        option = item.option(value) if value is not None else None
        if option is None:
            problems.append(
                f"item '{item.id}': {raw!r} is not an allowed answer (allowed: {_allowed(item)})"
            )
            continue
        normalised[item.id] = option.value
        total += option.points
        if option.red_flag:
            red_flags.append(item.id)
    known = ", ".join(i.id for i in questionnaire.items)
    for key in sorted(str(k) for k in answers if questionnaire.item(str(k)) is None):
        problems.append(f"unknown item '{key}' (the items are: {known})")
    if problems:
        raise QuestionnaireError(f"{label}: " + "; ".join(problems), tuple(problems))

    where = label if (yellow_at is None and red_at is None) else f"{label}, bands from the plan"
    reasons: list[str] = []
    if red_flags:
        reasons.append(f"red flag: {', '.join(red_flags)}")
    if bands.red_at is not None and total >= bands.red_at:
        colour = Colour.RED
        reasons.append(f"score {total} ≥ red band {bands.red_at}")
    elif red_flags:
        colour = Colour.RED
    elif total >= bands.yellow_at:
        colour = Colour.YELLOW
        reasons.append(f"score {total} ≥ yellow band {bands.yellow_at}")
    else:
        colour = Colour.GREEN
        reasons.append(f"score {total} < yellow band {bands.yellow_at}")
    return QuestionnaireScore(
        questionnaire_id=questionnaire.id,
        version=questionnaire.version,
        total=total,
        colour=colour,
        band_reason=f"{'; '.join(reasons)} ({where})",
        red_flags=tuple(red_flags),
        answers=normalised,
    )


def score_bands(
    questionnaire: Questionnaire, yellow_at: int | None, red_at: int | None
) -> ScoreBands:
    """The questionnaire's bands with the plan's overrides; a QuestionnaireError if unusable."""
    if yellow_at is None and red_at is None:
        return questionnaire.bands
    y = questionnaire.bands.yellow_at if yellow_at is None else yellow_at
    r = questionnaire.bands.red_at if red_at is None else red_at
    label = questionnaire.label
    problem: str | None = None
    if y < 1 or (r is not None and r < 1):
        problem = f"bands must be at least 1 (yellow_at {y}, red_at {r})"
    elif r is not None and y > r:
        problem = f"yellow_at {y} must not be above red_at {r}"
    else:
        problem = _unreachable(ScoreBands(yellow_at=y, red_at=r), questionnaire.max_score)
    if problem:
        raise QuestionnaireError(f"{label}: the plan's score bands cannot be used: {problem}")
    return ScoreBands(yellow_at=y, red_at=r)


# ----------------------------------------------------------------------------- sources

#: Source keys used in ``sources``; the full references are in docs/clinical/sources.md.
SOURCES: Mapping[str, str] = MappingProxyType(
    {
        "MLML": "My Lungs My Life: COPD red warning signs, "
        "https://www.mylungsmylife.org/topics/group-1/warning-signs-of-infection-or-exacerbation/red/",
        "PEACEHEALTH": "PeaceHealth: COPD action plan, "
        "https://www.peacehealth.org/medical-topics/id/abr2120",
        "BEAT-HF": "Black JT et al. Trials 2014;15:124, Table 1 (symptom questions)",
        "HOWIE": "Howie-Esquivel J et al., ESC Heart Failure (increased dyspnoea predicted "
        "admission; weight alone did not)",
        "RCP-N2": "Royal College of Physicians, NEWS2: ACVPU, new confusion (C) scores 3",
        "PROJECT": "a project choice, to be reviewed by clinicians",
    }
)

# ----------------------------------------------------------------------------- built-ins


def _t(nb: str, en: str) -> Text:
    return Text(nb=nb, en=en)


def _o(value: str, nb: str, en: str, points: int, *, red_flag: bool = False) -> Option:
    return Option(value=value, label=_t(nb, en), points=points, red_flag=red_flag)


def _no_yes(*, yes_is_red_flag: bool) -> tuple[Option, ...]:
    return (
        _o("no", "Nei", "No", 0),
        _o("yes", "Ja", "Yes", 1, red_flag=yes_is_red_flag),
    )


def _breathlessness(sources: tuple[str, ...]) -> Item:
    return Item(
        id="breathlessness",
        text=_t(
            "Hvordan er pusten din i dag, sammenlignet med vanlig?",
            "How is your breathing today, compared with usual?",
        ),
        options=(
            _o("as_usual", "Som vanlig eller bedre", "As usual or better", 0),
            _o("more", "Mer tungpustet enn vanlig", "More breathless than usual", 1),
            _o("much_more", "Mye mer tungpustet enn vanlig", "Much more breathless than usual", 2),
            _o(
                "at_rest",
                "Tungpustet i hvile, eller klarer ikke å snakke i hele setninger",
                "Breathless at rest, or cannot finish a sentence",
                3,
                red_flag=True,
            ),
        ),
        sources=sources,
    )


def _more_than_usual(item_id: str, nb: str, en: str, sources: tuple[str, ...]) -> Item:
    return Item(
        id=item_id,
        text=_t(nb, en),
        options=(
            _o("as_usual", "Som vanlig eller mindre", "As usual or less", 0),
            _o("more", "Mer enn vanlig", "More than usual", 1),
            _o("much_more", "Mye mer enn vanlig", "Much more than usual", 2),
        ),
        sources=sources,
    )


def _overall(sources: tuple[str, ...]) -> Item:
    return Item(
        id="overall",
        text=_t("Hvordan har du det i dag?", "How do you feel today?"),
        options=(
            _o("better", "Bedre enn vanlig", "Better than usual", 0),
            _o("as_usual", "Som vanlig", "As usual", 0),
            _o("worse", "Dårligere enn vanlig", "Worse than usual", 1),
            _o("much_worse", "Mye dårligere enn vanlig", "Much worse than usual", 2),
        ),
        sources=sources,
    )


def _chest_pain(sources: tuple[str, ...]) -> Item:
    return Item(
        id="chest_pain",
        text=_t(
            "Har du smerter eller trykk i brystet?",
            "Do you have pain or pressure in your chest?",
        ),
        options=_no_yes(yes_is_red_flag=True),
        sources=sources,
    )


_NEW_CONFUSION = Item(
    id="new_confusion",
    text=_t(
        "Er du nyoppstått forvirret, unormalt trøtt eller vanskelig å vekke? "
        "(Pårørende kan svare.)",
        "New confusion, unusual drowsiness or hard to wake? (A relative may answer.)",
    ),
    options=_no_yes(yes_is_red_flag=True),
    sources=("RCP-N2", "MLML", "PROJECT"),
)

_INTRO = _t(
    "Svar på noen korte spørsmål om hvordan du har det i dag, sammenlignet med en vanlig dag "
    "for deg. Svarene blir ikke alltid lest med en gang: ring 113 hvis du blir akutt dårlig.",
    "Answer a few short questions about how you are today, compared with a usual day for you. "
    "Your answers are not always read straight away: call 113 if you become acutely unwell.",
)

COPD_DAILY = Questionnaire(
    id="copd-daily",
    version=1,
    title=_t("Daglig KOLS-sjekk", "Daily COPD check"),
    intro=_INTRO,
    items=(
        _breathlessness(("MLML", "PEACEHEALTH")),
        _more_than_usual(
            "cough",
            "Hvordan er hosten i dag, sammenlignet med vanlig?",
            "How is your cough today, compared with usual?",
            ("PEACEHEALTH",),
        ),
        _more_than_usual(
            "sputum_amount",
            "Hvor mye slim hoster du opp, sammenlignet med vanlig?",
            "How much phlegm do you cough up, compared with usual?",
            ("PEACEHEALTH",),
        ),
        Item(
            id="sputum_colour",
            text=_t("Hvilken farge har slimet?", "What colour is your phlegm?"),
            options=(
                _o(
                    "usual",
                    "Som vanlig, klart eller hvitt – eller ikke noe slim",
                    "Usual colour, clear or white – or no phlegm",
                    0,
                ),
                _o(
                    "changed",
                    "Gult, grønt eller annen farge enn vanlig",
                    "Yellow, green or a different colour than usual",
                    2,
                ),
            ),
            sources=("PEACEHEALTH",),
        ),
        _more_than_usual(
            "reliever_use",
            "Hvor mye har du brukt anfallsmedisinen (inhalatoren du tar ved behov), "
            "sammenlignet med vanlig?",
            "How much have you used your reliever inhaler (the one you take when needed), "
            "compared with usual?",
            ("PEACEHEALTH",),
        ),
        Item(
            id="sleep",
            text=_t("Hvordan sov du i natt?", "How did you sleep last night?"),
            options=(
                _o("as_usual", "Som vanlig", "As usual", 0),
                _o(
                    "woke_breathing",
                    "Våknet på grunn av pusten",
                    "Woke up because of my breathing",
                    1,
                ),
            ),
            sources=("PEACEHEALTH",),
        ),
        _overall(("PROJECT",)),
        _chest_pain(("MLML", "PEACEHEALTH")),
        _NEW_CONFUSION,
    ),
    bands=ScoreBands(yellow_at=3, red_at=7),
    sources=("MLML", "PEACEHEALTH", "RCP-N2", "PROJECT"),
)

HF_DAILY = Questionnaire(
    id="hf-daily",
    version=1,
    title=_t("Daglig hjertesviktsjekk", "Daily heart-failure check"),
    intro=_INTRO,
    items=(
        _breathlessness(("BEAT-HF", "HOWIE")),
        Item(
            id="swelling",
            text=_t(
                "Hvordan er hevelsen i bena, anklene eller magen, sammenlignet med vanlig?",
                "How is the swelling in your legs, ankles or belly, compared with usual?",
            ),
            options=(
                _o("as_usual", "Ingen, eller som vanlig", "None, or as usual", 0),
                _o("more", "Mer hoven enn vanlig", "More swollen than usual", 1),
                _o("much_more", "Mye mer hoven enn vanlig", "Much more swollen than usual", 2),
            ),
            sources=("BEAT-HF",),
        ),
        Item(
            id="sleep",
            text=_t("Hvordan sov du i natt?", "How did you sleep last night?"),
            options=(
                _o("as_usual", "Som vanlig", "As usual", 0),
                _o(
                    "more_pillows",
                    "Trengte flere puter eller sov sittende",
                    "Needed more pillows or slept sitting up",
                    1,
                ),
                _o(
                    "woke_breathless",
                    "Våknet fordi jeg ble tungpustet",
                    "Woke up short of breath",
                    2,
                ),
            ),
            sources=("BEAT-HF",),
        ),
        Item(
            id="dizziness",
            text=_t(
                "Har du vært svimmel eller ør i dag?",
                "Have you felt dizzy or light-headed today?",
            ),
            options=_no_yes(yes_is_red_flag=False),
            sources=("BEAT-HF",),
        ),
        Item(
            id="night_cough",
            text=_t("Hostet du i natt?", "Did you cough during the night?"),
            options=_no_yes(yes_is_red_flag=False),
            sources=("PROJECT",),
        ),
        _overall(("BEAT-HF",)),
        _chest_pain(("PROJECT",)),
        Item(
            id="fainted",
            text=_t("Har du besvimt siden sist?", "Have you fainted since you last answered?"),
            options=_no_yes(yes_is_red_flag=True),
            sources=("PROJECT",),
        ),
        _NEW_CONFUSION,
    ),
    bands=ScoreBands(yellow_at=2, red_at=5),
    sources=("BEAT-HF", "HOWIE", "RCP-N2", "PROJECT"),
)

#: The questionnaires built into DHO, by id.
BUILTIN_QUESTIONNAIRES: Mapping[str, Questionnaire] = MappingProxyType(
    {q.id: q for q in (COPD_DAILY, HF_DAILY)}
)


def get_questionnaire(qid: str) -> Questionnaire:
    """The built-in questionnaire ``qid``; a :class:`QuestionnaireError` when there is none."""
    try:
        return BUILTIN_QUESTIONNAIRES[qid]
    except KeyError:
        known = ", ".join(sorted(BUILTIN_QUESTIONNAIRES))
        raise QuestionnaireError(f"unknown questionnaire '{qid}' (known: {known})") from None
