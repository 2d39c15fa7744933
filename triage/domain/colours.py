"""The traffic-light colours and bilingual text shared by the whole domain."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Colour(StrEnum):
    """Clinical triage colour. Ordered: green < yellow < red."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def rank(self) -> int:
        """0 for green, 1 for yellow, 2 for red."""
        return _RANK[self]

    @property
    def label_nb(self) -> str:
        return {"green": "grønn", "yellow": "gul", "red": "rød"}[self.value]


_RANK = {Colour.GREEN: 0, Colour.YELLOW: 1, Colour.RED: 2}


def worst(colours: Iterable[Colour]) -> Colour:
    """The most urgent of ``colours``; green when there are none."""
    return max(colours, key=lambda c: c.rank, default=Colour.GREEN)


class Text(BaseModel):
    """A text shown to people, in Norwegian bokmål first and English."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nb: str
    en: str

    def in_language(self, language: str) -> str:
        """The text in ``language`` ("nb" or "en"); bokmål for anything else."""
        return self.en if language == "en" else self.nb
