"""API schemas of plans: version summaries, documents, new drafts, approval, proposals, diffs
and replays (distinct from the table rows and from the domain's
:class:`~triage.domain.plan.PlanVersion`, which is the document itself)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from triage.api.input_checks import INT32_MAX
from triage.api.schemas_patients import FindingRead
from triage.api.schemas_people import PersonRead
from triage.domain.colours import Colour
from triage.domain.plan import Condition, PlanStatus
from triage.domain.plan_diff import PlanDiff
from triage.domain.plan_proposal import Proposal
from triage.domain.replay import ReplayChange, ZoneCounts


class PlanVersionSummary(BaseModel):
    """One version in a plan's history."""

    model_config = ConfigDict(frozen=True)

    plan_id: str
    version: int
    status: PlanStatus
    condition: Condition | None
    created_at: AwareDatetime
    created_by: str | None = Field(description="the username who saved this version")
    created_by_person: PersonRead | None = Field(
        default=None, description="who saved this version: name and role"
    )
    approved_at: AwareDatetime | None
    approved_by: str | None = Field(description="the username who approved it")
    approved_by_person: PersonRead | None = Field(
        default=None, description="who approved it: name and role"
    )
    retired_at: AwareDatetime | None = Field(
        description="when a newer approved version replaced it"
    )
    note: str | None = Field(description="why this version was made")


class PlanDraftToApprove(BaseModel):
    """A draft version waiting for approval, with whose plan it is."""

    model_config = ConfigDict(frozen=True)

    patient_id: str
    patient_name: str
    plan_id: str
    version: int
    condition: Condition | None
    created_at: AwareDatetime
    created_by: str | None = Field(description="the username who saved this version")
    created_by_person: PersonRead | None = Field(
        default=None, description="who saved this version: name and role"
    )
    note: str | None = Field(description="why this version was made")
    in_use_version: int | None = Field(
        default=None,
        description="the plan's approved version, which this draft would replace (null when "
        "the plan has none yet)",
    )
    changes: PlanDiff | None = Field(
        default=None,
        description="what this draft changes against `in_use_version` (null when there is "
        "none): what the approver checks before approving",
    )


class PlanVersionRead(PlanVersionSummary):
    """One version with its document (``dho.plan/1`` JSON, as classification uses it)."""

    document: dict[str, Any]


class NewPlanRequest(BaseModel):
    """Start (or restart) a patient's plan from a condition template."""

    model_config = ConfigDict(extra="forbid")

    condition: Condition
    note: Annotated[str | None, Field(max_length=2000)] = None


class NewVersionRequest(BaseModel):
    """A new draft: either ``document`` (a whole ``dho.plan/1`` document) or ``changes`` (a JSON
    merge patch, RFC 7396, applied to version ``base_version`` — by default the highest: nested
    objects are merged, ``null`` removes a key, arrays are replaced). ``plan_id``, ``version``,
    ``status``, ``approval`` and ``retired_at`` are set by the server."""

    model_config = ConfigDict(extra="forbid")

    document: dict[str, Any] | None = None
    changes: dict[str, Any] | None = Field(
        default=None,
        examples=[{"zones": {"spo2": {"yellow_low": 92}}, "goal": "Gå tur med barnebarna"}],
    )
    base_version: Annotated[int | None, Field(ge=1, le=INT32_MAX)] = None
    note: Annotated[str, Field(min_length=1, max_length=2000)] = Field(
        description="why this version (shown in the history)"
    )


class PlanDiffRead(PlanDiff):
    """The differences from version ``from_version`` to ``to_version``; ``looser`` counts the
    changes that loosen a bound (worth a second look before approving)."""


class PlanProposalRead(Proposal):
    """Thresholds proposed from the trial period's readings (see ``rule``), per parameter;
    ``zones`` can be sent as ``changes: {"zones": …}`` to make a draft from them."""

    patient_id: str
    condition: Condition


class ReplayChangeRead(BaseModel):
    """One reading whose zone differs under the replayed version (see
    :class:`triage.domain.replay.ReplayChange`), with its reasons in words."""

    model_config = ConfigDict(frozen=True)

    reading_id: str
    kind: str
    measured_at: AwareDatetime
    values: dict[str, Any]
    before: Colour | None
    before_plan_version: int | None
    before_reasons: tuple[FindingRead, ...]
    after: Colour | None
    after_plan_version: int
    after_reasons: tuple[FindingRead, ...]
    direction: Literal["worse", "better"]

    @model_validator(mode="before")
    @classmethod
    def _from_domain(cls, data: Any) -> Any:
        if isinstance(data, ReplayChange):
            return {name: getattr(data, name) for name in ReplayChange.model_fields}
        return data


class PlanReplayRead(BaseModel):
    """The patient's readings of the last ``days`` days classified again under one version
    (draft or approved) with the same code ingest uses, next to their colours as stored (under
    the version in force when each arrived). ``changes`` lists the readings whose zone differs,
    newest first, each with the reasons before and after (rule, bound, value, plan version)."""

    model_config = ConfigDict(frozen=True)

    plan_id: str
    version: int
    status: PlanStatus
    patient_id: str
    days: int
    since: AwareDatetime = Field(description="the start of the window replayed")
    until: AwareDatetime = Field(description="the server's now: the end of the window")
    readings: int = Field(description="how many readings were replayed")
    truncated: bool = Field(
        description="the window held more readings than the service replays at once: only the "
        "newest were replayed, and `since` is when the oldest of them was classified"
    )
    under_version: ZoneCounts = Field(description="the readings per zone under this version")
    as_stored: ZoneCounts = Field(description="the same readings per zone as they were stored")
    stored_plan_versions: tuple[int, ...] = Field(
        description="the plan versions the stored colours came from"
    )
    changed: int = Field(description="how many readings change zone under this version")
    changes: tuple[ReplayChangeRead, ...] = Field(
        description="the readings that change zone, newest first (at most `limit`)"
    )
    changes_truncated: bool = Field(
        description="more readings change zone than `limit`: the oldest are not listed"
    )
