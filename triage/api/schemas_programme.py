"""API schemas of the programme view (issue 18; docs/programme.md): which sections and filters
a person may use, and one section's figures and tables in the reader's language (distinct from
the domain's :class:`~triage.domain.programme.SectionResult` and the reader's
:class:`~triage.programme.view.SectionView`)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from triage.domain.access import ProgrammeSection
from triage.domain.programme import Coded, Unit
from triage.programme.view import ColumnView, FigureView, SectionView, TableView


class SectionInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: ProgrammeSection
    title: str = Field(description="the section's heading in the reader's language")
    question: str = Field(description="the question the section answers")


class MunicipalityInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    number: str = Field(description="kommunenummer")
    name: str


class ConditionInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    label: str


class ProgrammeOverview(BaseModel):
    """What the caller may look at: the sections, the municipalities their centres serve (the
    admin: every municipality), the conditions, and the default period."""

    model_config = ConfigDict(frozen=True)

    sections: list[SectionInfo]
    municipalities: list[MunicipalityInfo]
    conditions: list[ConditionInfo]
    today: dt.date = Field(description="today in Europe/Oslo")
    default_start: dt.date = Field(description="the first day of the default period")
    default_end: dt.date = Field(description="the last day of the default period (yesterday)")
    max_days: int = Field(description="the longest period one request may ask for")


class FigureValueRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str | None = Field(description="what tells the values of one figure apart (a state)")
    key_label: str | None = Field(description="the key in words (a municipality by name)")
    value: float | None = Field(description="null when it cannot be computed (see `missing`)")
    numerator: float | None
    denominator: float | None
    text: str = Field(description='the value as the reader writes it: "93 %", "4,5 dager", "–"')
    missing: str | None = Field(description="why there is no value (null when there is one)")


class FigureRead(BaseModel):
    """A figure with its definition: every value of one definition id."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    definition: str = Field(
        description="numerator, denominator, time window, what counts (reader's language)"
    )
    source: str
    unit: Unit = Field(description="how the value reads; shares are 0–1")
    values: list[FigureValueRead]

    @classmethod
    def of(cls, view: FigureView) -> FigureRead:
        return cls(
            id=view.id,
            title=view.title,
            definition=view.definition,
            source=view.source,
            unit=view.unit,
            values=[FigureValueRead.model_validate(v, from_attributes=True) for v in view.values],
        )


class ColumnRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    unit: Unit | None = Field(description="the unit of the column's numbers; null for words")
    coded: Coded | None = Field(description="the code family of its cells (see `labels`)")

    @classmethod
    def of(cls, view: ColumnView) -> ColumnRead:
        return cls(id=view.id, title=view.title, unit=view.unit, coded=view.coded)


class TableRead(BaseModel):
    """A table: ``rows`` as computed (codes, numbers), ``labels`` the same shape with each coded
    cell's label (a municipality's name, a state's word) and null for the other cells."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    definition: str
    source: str
    columns: list[ColumnRead]
    rows: list[list[str | int | float | None]]
    labels: list[list[str | None]]

    @classmethod
    def of(cls, view: TableView) -> TableRead:
        return cls(
            id=view.id,
            title=view.title,
            definition=view.definition,
            source=view.source,
            columns=[ColumnRead.of(c) for c in view.columns],
            rows=[list(r) for r in view.rows],
            labels=[list(r) for r in view.labels],
        )


class SectionRead(BaseModel):
    """One section's figures and tables for the period and the filters."""

    model_config = ConfigDict(frozen=True)

    section: ProgrammeSection
    title: str
    question: str
    start: dt.date
    end: dt.date
    municipality_ids: list[str] | None = Field(description="null: every municipality in scope")
    condition: str | None
    figures: list[FigureRead]
    tables: list[TableRead]

    @classmethod
    def of(
        cls,
        view: SectionView,
        start: dt.date,
        end: dt.date,
        municipality_ids: list[str] | None,
        condition: str | None,
    ) -> SectionRead:
        return cls(
            section=view.section,
            title=view.title,
            question=view.question,
            start=start,
            end=end,
            municipality_ids=municipality_ids,
            condition=condition,
            figures=[FigureRead.of(f) for f in view.figures],
            tables=[TableRead.of(t) for t in view.tables],
        )
