"""The manifest models, exactly as in the specification's examples plus the bundle extensions.

Four documents: a tenant definition (``tenant:`` + ``environments:``), a team definition
(``team:`` + ``channels:``), a flow definition (``name:``, ``version:``, ``nodes:``) and a bundle
(``tenants:`` keyed by id). A bundle entry may also carry ``profile``, ``plan``, ``settings``,
``environments``, ``limits`` (overrides of its plan's) and flow bindings on teams and channels;
a bundle may define ``plans:`` (plan name -> limits). Unknown keys are errors everywhere.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tenantry.core import ids
from tenantry.runtime.flows import check as flow_check
from tenantry.runtime.flows.model import MAX_REF, parse_ref
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.limits import plans as limit_plans
from tenantry.tenancy.limits.schemas import LimitsSpec
from tenantry.tenancy.policy.schemas import PolicyName, PolicySpec, Region


def _grammar(check: Callable[[object], str]) -> AfterValidator:
    """Run an id validator inside Pydantic, which only collects ``ValueError``s."""

    def validate(value: str) -> str:
        try:
            return check(value)
        except ids.InvalidId as error:
            raise ValueError(error.message) from error

    return AfterValidator(validate)


TenantIdField = Annotated[str, _grammar(ids.tenant_id)]
EnvIdField = Annotated[str, _grammar(ids.env_id)]
TeamIdField = Annotated[str, _grammar(ids.team_id)]
ChannelIdField = Annotated[str, _grammar(ids.channel_id)]
FlowNameField = Annotated[str, _grammar(ids.flow_name)]
NodeIdField = Annotated[str, _grammar(ids.node_id)]

DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Provider = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]
PlanName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=32)]
NodeType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+([._-][a-z0-9]+)*$", max_length=64)]
FlowVersion = Annotated[
    str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+){0,2}([-+][0-9A-Za-z.-]+)?$", max_length=32)
]
Settings = dict[str, Any]


def _flow_ref(value: str) -> str:
    """A binding: a flow name, optionally pinned to a version (``support_flow@1.0``)."""
    if len(value) > MAX_REF:
        raise ValueError(f"a flow binding is at most {MAX_REF} characters")
    name, version = parse_ref(value)
    try:
        ids.flow_name(name)
    except ids.InvalidId as error:
        raise ValueError(error.message) from error
    if "@" in value and (version is None or _VERSION.fullmatch(version) is None):
        raise ValueError(f"{ids.show(value)}: a pinned version looks like name@1.0")
    return value


_VERSION = re.compile(r"[0-9]+(\.[0-9]+){0,2}([-+][0-9A-Za-z.-]+)?")
FlowRefField = Annotated[str, AfterValidator(_flow_ref)]

DEFAULT_ENVIRONMENT = "prod"
DEFAULT_PLAN = "standard"


class Profile(enum.StrEnum):
    """How a tenant is isolated (DESIGN.md section 4)."""

    MT_STANDARD = "mt-standard"
    ST_DEDICATED = "st-dedicated"
    ST_BYOC = "st-byoc"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Channel(Strict):
    provider: Provider
    config: Settings = Field(default_factory=dict)
    flow: FlowRefField | None = None


class Team(Strict):
    name: DisplayName | None = None
    flow: FlowRefField | None = None
    channels: dict[ChannelIdField, Channel] = Field(default_factory=dict)


def _unset(value: object) -> bool:
    return value is None


class Environment(Strict):
    id: EnvIdField
    name: DisplayName | None = None
    # Where its data must live (policies' residency); left out of dumps when unset.
    region: Region | None = Field(default=None, exclude_if=_unset)


class Node(Strict):
    id: NodeIdField
    type: NodeType
    config: Settings = Field(default_factory=dict)
    next: NodeIdField | None = Field(default=None, exclude_if=lambda value: value is None)


class FlowProblems(ValueError):
    """Every reason a flow cannot run, each at its path in the flow (``validation`` places
    them at their own ``file:line:col``)."""

    def __init__(self, problems: list[flow_check.Problem]) -> None:
        super().__init__("; ".join(f"{_dotted(p.path)}: {p.message}" for p in problems))
        self.problems = problems


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in path)


def _unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {what} {value!r}")
        seen.add(value)


class Flow(Strict):
    """A flow definition, as in ``acme_support_flow.yaml``."""

    name: FlowNameField
    version: FlowVersion
    description: str | None = None
    nodes: list[Node] = Field(min_length=1)

    @field_validator("nodes")
    @classmethod
    def _unique_nodes(cls, nodes: list[Node]) -> list[Node]:
        _unique("node id", [node.id for node in nodes])
        return nodes

    @model_validator(mode="after")
    def _runnable(self) -> Self:
        problems = flow_check.check([node.model_dump() for node in self.nodes])
        if problems:
            raise FlowProblems(problems)
        return self


class _WithEnvironments(Strict):
    @field_validator("environments", check_fields=False)
    @classmethod
    def _unique_environments(cls, environments: list[Environment]) -> list[Environment]:
        _unique("environment id", [env.id for env in environments])
        return environments


class Tenant(_WithEnvironments):
    """A tenant as a bundle holds it; the desired state stored in the registry."""

    name: DisplayName
    profile: Profile = Profile.MT_STANDARD
    plan: PlanName = DEFAULT_PLAN
    settings: Settings = Field(default_factory=dict)
    environments: list[Environment] = Field(
        default_factory=lambda: [Environment(id=DEFAULT_ENVIRONMENT)], min_length=1
    )
    teams: dict[TeamIdField, Team] = Field(default_factory=dict)
    # Left out of dumps when unset, so specs stored before limits existed keep their hash.
    limits: LimitsSpec | None = Field(default=None, exclude_if=lambda value: value is None)
    # A delete is refused unless forced (left out of dumps when False, like ``limits``).
    prevent_deletion: bool = Field(default=False, exclude_if=lambda value: value is False)
    # The policy it is held to, and the region its environments default to (both unset: no
    # policy; left out of dumps when unset, so older specs keep their hash).
    policy: PolicyName | None = Field(default=None, exclude_if=_unset)
    region: Region | None = Field(default=None, exclude_if=_unset)


class TenantSpec(Tenant):
    """The whole desired state of one tenant: its manifest plus the flows its teams bind."""

    flows: dict[FlowNameField, Flow] = Field(default_factory=dict)

    def bound_flows(self) -> set[str]:
        """The names of the flows its teams and channels bind (pinned or not)."""
        return {parse_ref(ref)[0] for ref in self.bindings()}

    def bindings(self) -> set[str]:
        bound = {team.flow for team in self.teams.values() if team.flow}
        for team in self.teams.values():
            bound.update(c.flow for c in team.channels.values() if c.flow)
        return bound


class TenantDocument(TenantSpec):
    """One tenant with its flows in one document, as the API takes it: ``flows`` holds every
    flow its teams and channels bind, keyed by name, and nothing else."""

    @model_validator(mode="after")
    def _flows_match_bindings(self) -> Self:
        misnamed = [
            f"{key!r} holds flow {f.name!r}" for key, f in self.flows.items() if key != f.name
        ]
        if misnamed:
            raise ValueError(f"flows are keyed by their name: {', '.join(misnamed)}")
        bound = self.bound_flows()
        unknown, unbound = sorted(bound - self.flows.keys()), sorted(self.flows.keys() - bound)
        if unknown:
            raise ValueError(f"teams or channels bind unknown flows {unknown}: add them to flows")
        if unbound:
            raise ValueError(f"flows {unbound} are bound to no team or channel")
        return self

    def spec(self) -> TenantSpec:
        """The spec to store (what a bundle holding this tenant would store)."""
        return TenantSpec.model_validate(self.model_dump(include=set(TenantSpec.model_fields)))


class PlanAllows(Strict):
    """What a plan allows its tenants (unset: anything): the profiles they may use, the
    lifecycle transitions they may request (provision and delete are always allowed), and the
    limits their own ``limits:`` may override (top-level names, such as ``rate``)."""

    profiles: list[Profile] | None = None
    transitions: list[JobKind] | None = None
    overrides: list[Annotated[str, StringConstraints(max_length=64)]] | None = None

    @field_validator("overrides")
    @classmethod
    def _known_limits(cls, overrides: list[str] | None) -> list[str] | None:
        unknown = sorted(set(overrides or ()) - set(LimitsSpec.model_fields))
        if unknown:
            raise ValueError(f"unknown limits {unknown}; known: {sorted(LimitsSpec.model_fields)}")
        return overrides


class PlanSpec(LimitsSpec):
    """A plan definition: its limits, and optionally what it ``allows`` (checked by policy)."""

    allows: PlanAllows | None = None


def _as_plan(value: object) -> object:
    """A plain :class:`LimitsSpec` (a plan that allows anything) is a plan definition too."""
    if isinstance(value, LimitsSpec) and not isinstance(value, PlanSpec):
        return value.model_dump(mode="json")
    return value


PlanField = Annotated[PlanSpec, BeforeValidator(_as_plan)]


class Bundle(Strict):
    """What ``apply`` stores: every tenant's complete spec, keyed by id, and the plans and
    policies the bundle defines (plan name -> limits, policy name -> policy)."""

    tenants: dict[TenantIdField, TenantSpec] = Field(default_factory=dict)
    plans: dict[PlanName, PlanField] = Field(default_factory=dict)
    policies: dict[PolicyName, PolicySpec] = Field(default_factory=dict)


class BundleFile(Strict):
    """``bundle.yaml``: tenants keyed by id, and optionally flow definitions and plans.

    A tenant whose plan the bundle defines stores that plan's limits overlaid with its own
    ``limits`` (see :func:`with_plan`); the built-in ``standard`` plan fills in the rest.
    """

    plans: dict[PlanName, PlanField] = Field(default_factory=dict)  # validated before tenants
    policies: dict[PolicyName, PolicySpec] = Field(default_factory=dict)  # and so are these
    tenants: dict[TenantIdField, Tenant] = Field(default_factory=dict)
    flows: list[Flow] = Field(default_factory=list)

    @field_validator("tenants")
    @classmethod
    def _resolve_plans(cls, tenants: dict[str, Tenant], info: ValidationInfo) -> dict[str, Tenant]:
        plans: Mapping[str, LimitsSpec] | None = info.data.get("plans")
        if not plans:  # none defined (or broken, which is reported on its own)
            return tenants
        unknown = [
            (tid, t.plan) for tid, t in tenants.items() if not limit_plans.known_plan(t.plan, plans)
        ]
        if unknown:
            named = ", ".join(f"{tid!r} names plan {plan!r}" for tid, plan in unknown)
            raise ValueError(f"tenant {named}, undefined; {limit_plans.defined_plans(plans)}")
        return {tid: with_plan(tenant, plans) for tid, tenant in tenants.items()}


TenantT = TypeVar("TenantT", bound=Tenant)


def with_plan(tenant: TenantT, plans: Mapping[str, LimitsSpec]) -> TenantT:
    """``tenant`` with the limits to store: its plan's definition in ``plans`` overlaid with
    its own ``limits``; unchanged when ``plans`` does not define its plan."""
    if tenant.plan not in plans:
        return tenant
    limits = limit_plans.for_tenant(tenant.plan, tenant.limits, plans)
    return tenant.model_copy(update={"limits": limits})


class TenantHeader(Strict):
    id: TenantIdField
    name: DisplayName
    profile: Profile = Profile.MT_STANDARD
    plan: PlanName = DEFAULT_PLAN
    settings: Settings = Field(default_factory=dict)
    prevent_deletion: bool = False
    policy: PolicyName | None = None
    region: Region | None = None


class TenantFile(_WithEnvironments):
    """``tenant.yaml``: one tenant and its environments."""

    tenant: TenantHeader
    environments: list[Environment] = Field(
        default_factory=lambda: [Environment(id=DEFAULT_ENVIRONMENT)], min_length=1
    )


class TeamHeader(Strict):
    id: TeamIdField
    tenant_id: TenantIdField
    name: DisplayName | None = None
    flow: FlowRefField | None = None


class TeamFile(Strict):
    """``team.yaml``: one team of one tenant and its channels."""

    team: TeamHeader
    channels: dict[ChannelIdField, Channel] = Field(default_factory=dict)
