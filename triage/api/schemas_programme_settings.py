"""Request and response schemas of the programme's settings (issue 18), entered by the admin:
each municipality's population by sex and age band and its minutes per home-care visit, and
each centre's nurse full-time equivalents."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

#: :data:`triage.domain.national_id_facts.AGE_BANDS` as a type (a test keeps them in step)
AgeBand = Literal["0-49", "50-66", "67-79", "80-89", "90+"]

#: the most inhabitants one sex and age band of one municipality can have (Oslo has ~720,000
#: inhabitants in all)
MAX_POPULATION = 10_000_000


class PopulationRow(BaseModel):
    """Inhabitants of one sex and age band in one year (SSB table 07459, aggregated)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: Annotated[int, Field(ge=1900, le=2100)]
    sex: Literal["female", "male"]
    age_band: AgeBand = Field(
        description="0-49, 50-66, 67-79, 80-89 or 90+: SSB 07459's one-year ages aggregated, "
        "finer where the elderly population the service follows up lives"
    )
    count: Annotated[int, Field(ge=0, le=MAX_POPULATION)]


class PopulationRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    municipality_id: str
    municipality_name: str
    age_bands: list[str] = Field(description="the fixed age bands, youngest first")
    rows: list[PopulationRow] = Field(description="by year, then sex, then age band")
    updated_at: AwareDatetime | None = Field(description="the last change; null: none entered")


class MunicipalityProgrammeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes_per_home_visit: Annotated[int | None, Field(ge=1, le=600)] = Field(
        description="the home-care time one home visit takes, driving included, as the "
        "municipality says (the benefit's hours saved); null: not known, not computed"
    )


class MunicipalityProgrammeRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    municipality_id: str
    municipality_name: str
    minutes_per_home_visit: int | None


class CentreProgrammeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nurse_fte: Annotated[float | None, Field(gt=0, le=1000)] = Field(
        description="the nurse full-time equivalents working in the centre (the workload "
        "figures); null: not known, not computed"
    )


class CentreProgrammeRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    centre_id: str
    centre_name: str
    nurse_fte: float | None
