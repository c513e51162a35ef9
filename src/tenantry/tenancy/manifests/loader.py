"""Load manifests into one :class:`Bundle`, reporting every problem of every file at once.

Sources may be single files of any kind or directory bundles (``bundle.yaml`` + ``tenants/``,
``teams/`` and ``flows/``); together they form one bundle. After each file is validated on its
own, the assembly checks what spans files: duplicate tenant, team and flow ids, teams of unknown
tenants, bindings to unknown flows and flows bound to nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from tenantry.runtime.flows.model import parse_ref
from tenantry.tenancy.limits import plans as limit_plans
from tenantry.tenancy.manifests import files, schemas, source, validation
from tenantry.tenancy.manifests.errors import Issue, ManifestError
from tenantry.tenancy.manifests.source import PathKey, Positions
from tenantry.tenancy.policy.names import defined_policies
from tenantry.tenancy.policy.schemas import PolicySpec

_MODELS: dict[files.Kind, type[BaseModel]] = {
    files.Kind.BUNDLE: schemas.BundleFile,
    files.Kind.TENANT: schemas.TenantFile,
    files.Kind.TEAM: schemas.TeamFile,
    files.Kind.FLOW: schemas.Flow,
}


@dataclass(frozen=True, slots=True)
class Located:
    """A validated manifest with the positions of its values."""

    kind: files.Kind
    model: BaseModel
    positions: Positions


def read_all(paths: Iterable[Path]) -> tuple[list[Located], list[Issue]]:
    """Read and validate each manifest file on its own."""
    sources, issues = files.expand(paths)
    located: list[Located] = []
    for item in sources:
        result = _read_one(item)
        if isinstance(result, Located):
            located.append(result)
        else:
            issues.extend(result)
    return located, issues


def _read_one(item: files.Source) -> Located | list[Issue]:
    document = source.read(item.path)
    if isinstance(document, list):
        return document
    kind = files.detect(document.data)
    positions = document.positions
    if kind is None:
        return [
            *document.problems,
            positions.issue(
                (),
                "cannot tell the manifest kind: expected a top-level "
                "'tenants', 'tenant', 'team' or 'nodes' key",
            ),
        ]
    if item.expected is not None and kind is not item.expected:
        return [
            *document.problems,
            positions.issue(
                (), f"a {kind.value} manifest where a {item.expected.value} manifest belongs"
            ),
        ]
    model = validation.validate(_MODELS[kind], document.data, positions)
    if isinstance(model, list):
        return [*document.problems, *model]
    return list(document.problems) or Located(kind, model, positions)


def load(paths: Iterable[Path]) -> schemas.Bundle:
    """The bundle the manifests at ``paths`` describe; :class:`ManifestError` lists all problems."""
    located, issues = read_all(paths)
    assembly = _Assembly()
    for item in located:
        assembly.add(item)
    bundle = assembly.finish()
    issues.extend(assembly.issues)
    if issues:
        raise ManifestError(issues)
    return bundle


def flow_file(path: Path) -> schemas.Flow:
    """The one flow of a flow manifest file; :class:`ManifestError` lists its problems."""
    located, issues = read_all([path])
    flows = [item.model for item in located if isinstance(item.model, schemas.Flow)]
    if not issues and len(flows) != 1:
        issues = [Issue(str(path), 0, 0, "expected one flow manifest (name, version, nodes)")]
    if issues:
        raise ManifestError(issues)
    return flows[0]


@dataclass(slots=True)
class _Origin:
    positions: Positions
    path: PathKey

    def issue(self, message: str, *, at: PathKey = (), at_key: bool = False) -> Issue:
        return self.positions.issue((*self.path, *at), message, at_key=at_key)


@dataclass(slots=True)
class _Assembly:
    tenants: dict[str, tuple[schemas.Tenant, _Origin]] = field(default_factory=dict)
    teams: dict[str, dict[str, tuple[schemas.Team, _Origin]]] = field(default_factory=dict)
    flows: dict[str, tuple[schemas.Flow, _Origin]] = field(default_factory=dict)
    team_files: list[tuple[schemas.TeamFile, Positions]] = field(default_factory=list)
    plans: dict[str, schemas.PlanSpec] = field(default_factory=dict)
    policies: dict[str, PolicySpec] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    def add(self, item: Located) -> None:
        model, positions = item.model, item.positions
        if isinstance(model, schemas.BundleFile):
            self.plans.update(model.plans)
            self.policies.update(model.policies)
            for tenant_id, tenant in model.tenants.items():
                self._tenant(tenant_id, tenant, _Origin(positions, ("tenants", tenant_id)))
            for index, flow in enumerate(model.flows):
                self._flow(flow, _Origin(positions, ("flows", index)))
        elif isinstance(model, schemas.TenantFile):
            self._tenant(model.tenant.id, _tenant_of(model), _Origin(positions, ("tenant",)))
        elif isinstance(model, schemas.TeamFile):
            self.team_files.append((model, positions))
        elif isinstance(model, schemas.Flow):
            self._flow(model, _Origin(positions, ()))

    def _tenant(self, tenant_id: str, tenant: schemas.Tenant, origin: _Origin) -> None:
        if tenant_id in self.tenants:
            first = self.tenants[tenant_id][1].issue("", at_key=True)
            self.issues.append(
                origin.issue(
                    f"duplicate tenant id {tenant_id!r} (first defined at {_where(first)})",
                    at_key=True,
                )
            )
            return
        self.tenants[tenant_id] = (tenant, origin)
        self.teams[tenant_id] = {
            team_id: (team, _Origin(origin.positions, (*origin.path, "teams", team_id)))
            for team_id, team in tenant.teams.items()
        }

    def _flow(self, flow: schemas.Flow, origin: _Origin) -> None:
        if flow.name in self.flows:
            first = self.flows[flow.name][1].issue("")
            self.issues.append(
                origin.issue(
                    f"duplicate flow {flow.name!r} (first defined at {_where(first)})", at=("name",)
                )
            )
            return
        self.flows[flow.name] = (flow, origin)

    def _team_file(self, model: schemas.TeamFile, positions: Positions) -> None:
        origin = _Origin(positions, ())
        header = model.team
        if header.tenant_id not in self.teams:
            self.issues.append(
                origin.issue(
                    f"team {header.id!r} names unknown tenant {header.tenant_id!r}",
                    at=("team", "tenant_id"),
                )
            )
            return
        teams = self.teams[header.tenant_id]
        if header.id in teams:
            first = teams[header.id][1].issue("")
            self.issues.append(
                origin.issue(
                    f"duplicate team {header.id!r} of tenant {header.tenant_id!r} "
                    f"(first defined at {_where(first)})",
                    at=("team", "id"),
                )
            )
            return
        team = schemas.Team(name=header.name, flow=header.flow, channels=model.channels)
        teams[header.id] = (team, _Origin(positions, ("team",)))

    def finish(self) -> schemas.Bundle:
        for model, positions in self.team_files:
            self._team_file(model, positions)
        specs = {tenant_id: self._spec(tenant_id) for tenant_id in self.tenants}
        self._check_flows_bound(specs)
        return schemas.Bundle(tenants=specs, plans=self.plans, policies=self.policies)

    def _spec(self, tenant_id: str) -> schemas.TenantSpec:
        tenant, origin = self.tenants[tenant_id]
        if not limit_plans.known_plan(tenant.plan, self.plans):
            self.issues.append(
                origin.issue(
                    f"tenant {tenant_id!r} names undefined plan {tenant.plan!r}; "
                    f"{limit_plans.defined_plans(self.plans)}",
                    at=("plan",),
                )
            )
        if tenant.policy is not None and tenant.policy not in self.policies:
            self.issues.append(
                origin.issue(
                    f"tenant {tenant_id!r} names undefined policy {tenant.policy!r}; "
                    f"{defined_policies(self.policies)}",
                    at=("policy",),
                )
            )
        tenant = schemas.with_plan(tenant, self.plans)  # plans of any bundle file, once
        teams = self.teams[tenant_id]
        flows: dict[str, schemas.Flow] = {}
        for team_id, (team, origin) in teams.items():
            for ref, at in _bindings(team):
                name = parse_ref(ref)[0]
                if name in self.flows:
                    flows[name] = self.flows[name][0]
                else:
                    self.issues.append(
                        origin.issue(
                            f"team {team_id!r} of tenant {tenant_id!r} binds unknown flow {name!r}",
                            at=at,
                        )
                    )
        data = tenant.model_dump(exclude={"teams"})
        return schemas.TenantSpec(
            **data, teams={team_id: team for team_id, (team, _) in teams.items()}, flows=flows
        )

    def _check_flows_bound(self, specs: dict[str, schemas.TenantSpec]) -> None:
        bound = set().union(*(spec.flows for spec in specs.values())) if specs else set()
        for name, (_, origin) in self.flows.items():
            if name not in bound:
                self.issues.append(
                    origin.issue(f"flow {name!r} is bound to no team or channel", at=("name",))
                )


def _tenant_of(model: schemas.TenantFile) -> schemas.Tenant:
    header = model.tenant
    return schemas.Tenant(
        name=header.name,
        profile=header.profile,
        plan=header.plan,
        settings=header.settings,
        prevent_deletion=header.prevent_deletion,
        policy=header.policy,
        region=header.region,
        environments=model.environments,
    )


def _bindings(team: schemas.Team) -> list[tuple[str, PathKey]]:
    found: list[tuple[str, PathKey]] = [(team.flow, ("flow",))] if team.flow else []
    for channel_id, channel in team.channels.items():
        if channel.flow:
            found.append((channel.flow, ("channels", channel_id, "flow")))
    return found


def _where(issue: Issue) -> str:
    return f"{issue.file}:{issue.line}:{issue.column}" if issue.line else issue.file


def check(path: Path) -> list[Issue]:
    """Every problem in one manifest path, checked as a unit.

    A directory or a bundle file is a whole bundle, so references across its files are checked
    too. A lone tenant, team or flow file is checked against its schema only: the tenant a team
    names, or the team that binds a flow, is checked when they are applied together.
    """
    located, issues = read_all([path])
    if path.is_dir() or any(item.kind is files.Kind.BUNDLE for item in located):
        assembly = _Assembly()
        for item in located:
            assembly.add(item)
        assembly.finish()
        issues.extend(assembly.issues)
    return sorted(issues, key=lambda i: (i.file, i.line, i.column))
