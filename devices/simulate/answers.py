"""Questionnaire answers that follow the patient's state.

The item ids and option values of the built-in questionnaires ``copd-daily`` and ``hf-daily``
are copied from ``triage.domain.questionnaires`` (``devices`` must not import ``triage``); a
test checks they are the same and that every simulated answer set scores there.

Each item gets a score ``x = load × weight + noise`` where ``load`` (0–1) is how unwell the
patient is today (the episode's symptom strength, plus an isolated "bad day" on one or two
items now and then). The options (best to worst) split 0–1 evenly; a red-flag option needs
``x`` at or above :data:`RED_FLAG_AT`. The weights are [PROJECT] choices.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["QUESTIONNAIRES", "RED_FLAG_AT", "Item", "answer"]

#: An item score from which a red-flag option (e.g. "breathless at rest") is chosen.
RED_FLAG_AT = 0.95
#: Day-to-day noise on every item score (SD).
NOISE = 0.1


@dataclass(frozen=True, slots=True)
class Item:
    """One item: its id, options best to worst, how many of the last options are red flags,
    how strongly it follows the episode (``weight``), and whether a bad day can touch it."""

    id: str
    options: tuple[str, ...]
    red_flags: int = 0
    weight: float = 1.0
    bad_day: bool = True
    neutral: int = 0  # the option for "as usual" (``overall`` has "better" before it)


_MORE = ("as_usual", "more", "much_more")
_NO_YES = ("no", "yes")
_OVERALL = Item("overall", ("better", "as_usual", "worse", "much_worse"), neutral=1)
_BREATHLESSNESS = ("as_usual", "more", "much_more", "at_rest")

QUESTIONNAIRES: dict[str, tuple[Item, ...]] = {
    "copd-daily": (
        Item("breathlessness", _BREATHLESSNESS, red_flags=1, weight=1.0),
        Item("cough", _MORE, weight=0.8),
        Item("sputum_amount", _MORE, weight=0.8),
        Item("sputum_colour", ("usual", "changed"), weight=0.7, bad_day=False),
        Item("reliever_use", _MORE, weight=1.0),
        Item("sleep", ("as_usual", "woke_breathing"), weight=0.7),
        _OVERALL,
        Item("chest_pain", _NO_YES, red_flags=1, weight=0.0, bad_day=False),
        Item("new_confusion", _NO_YES, red_flags=1, weight=0.0, bad_day=False),
    ),
    "hf-daily": (
        Item("breathlessness", _BREATHLESSNESS, red_flags=1, weight=1.0),
        Item("swelling", _MORE, weight=1.0),
        Item("sleep", ("as_usual", "more_pillows", "woke_breathless"), weight=0.8),
        Item("dizziness", _NO_YES, weight=0.0),
        Item("night_cough", _NO_YES, weight=0.6),
        _OVERALL,
        Item("chest_pain", _NO_YES, red_flags=1, weight=0.0, bad_day=False),
        Item("fainted", _NO_YES, red_flags=1, weight=0.0, bad_day=False),
        Item("new_confusion", _NO_YES, red_flags=1, weight=0.0, bad_day=False),
    ),
}


def _choose(item: Item, x: float) -> str:
    ordinary = len(item.options) - item.red_flags
    if item.red_flags and x >= RED_FLAG_AT:
        return item.options[ordinary]
    if item.neutral and x < -0.15:
        return item.options[0]  # "better than usual" on a good day
    steps = ordinary - item.neutral
    level = int(min(max(x, 0.0), 0.999) * steps)
    return item.options[item.neutral + level]


def answer(
    questionnaire: str, load: float, rng: random.Random, *, bad_day: float = 0.0
) -> dict[str, str]:
    """One answer set to ``questionnaire`` for a patient ``load`` (0–1) unwell today.

    ``bad_day`` (0–1) is added to one or two items that can have a bad day, chosen at random.
    """
    items = QUESTIONNAIRES[questionnaire]
    bad: set[str] = set()
    if bad_day > 0:
        eligible = [item.id for item in items if item.bad_day]
        bad.update(rng.sample(eligible, k=1 + (rng.random() < 0.3)))
    answers: dict[str, str] = {}
    for item in items:
        x = load * item.weight + rng.gauss(0.0, NOISE)
        if item.id in bad:
            x += bad_day
        answers[item.id] = _choose(item, x)
    return answers
