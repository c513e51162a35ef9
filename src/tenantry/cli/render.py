"""Rendering for the CLI: Rich tables for people, JSON or YAML for machines."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from tenantry.cli.options import Output
from tenantry.tenancy.registry.plan import Action, Plan

if TYPE_CHECKING:
    from tenantry.tenancy.controller.service import Outcome
    from tenantry.tenancy.manifests.errors import Issue
    from tenantry.tenancy.registry.schemas import PlanView, TenantDetail, TenantSummary
    from tenantry.tenancy.schema.service import Result as MigrationResult

__all__ = ["Output", "emit", "err", "out"]

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
# Piped output is for other programs: a table is never cut to a width nobody chose.
_UNCUT = 100_000


def show(table: Table) -> None:
    """Print ``table`` to the terminal's width, or whole when stdout is not a terminal."""
    if out.is_terminal:
        out.print(table)
        return
    whole = Console(file=out.file, width=_UNCUT, soft_wrap=True, color_system=None)
    with whole.capture() as captured:
        whole.print(table)
    out.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


_ACTION_STYLE = {
    Action.CREATED: "green",
    Action.CHANGED: "yellow",
    Action.REMOVED: "red",
    Action.UNCHANGED: "dim",
    Action.RETAINED: "cyan",
}


def emit(data: Any, fmt: Output, table: Callable[[], None]) -> None:
    """Print ``data`` as JSON or YAML, or call ``table`` to draw it for people."""
    if fmt is Output.TABLE:
        table()
        return
    plain = _plain(data)
    if fmt is Output.JSON:
        out.print_json(json.dumps(plain))
    else:
        import yaml  # noqa: PLC0415 - only YAML output needs it

        out.print(yaml.safe_dump(plain, sort_keys=False, allow_unicode=True), end="", markup=False)


def _plain(data: Any) -> Any:
    from pydantic import BaseModel  # noqa: PLC0415 - loaded by whatever made the model

    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, list):
        return [_plain(item) for item in data]
    if isinstance(data, dict):
        return {key: _plain(value) for key, value in data.items()}
    return data


def plan_data(plan: Plan) -> dict[str, Any]:
    return {
        "changes": [{**asdict(change), "action": change.action.value} for change in plan.changes],
        "plans": [{"name": p.name, "action": p.action.value} for p in plan.plans],
        "policies": [{"name": p.name, "action": p.action.value} for p in plan.policies],
        "has_changes": plan.has_changes,
    }


def plan_table(
    plan: Plan, *, applied: bool = False, resources: dict[str, list[str]] | None = None
) -> None:
    table = Table("tenant", "action", "generation", "details", box=None, pad_edge=False)
    for change in plan.changes:
        style = _ACTION_STYLE[change.action]
        lines = [f"{c.path}: {_short(c.before)} -> {_short(c.after)}" for c in change.changes]
        lines += [change.note] if change.note else []
        lines += (resources or {}).get(change.tenant_id, [])
        table.add_row(
            change.tenant_id,
            Text(change.action.value, style=style),
            str(change.generation),
            Text("\n".join(lines)),
        )
    if plan.changes:
        show(table)
    for title, definitions in (("Plans", plan.plans), ("Policies", plan.policies)):
        defined = [p for p in definitions if p.action is not Action.UNCHANGED]
        if defined:
            listed = ", ".join(f"{p.name} ({p.action.value})" for p in defined)
            out.print(f"{title}: {listed}", markup=False, highlight=False)
    out.print(plan_summary(plan, applied=applied))


def plan_summary(plan: Plan, *, applied: bool) -> str:
    if not plan.has_changes:
        return "No changes: the registry already matches the bundle."
    verb = "Applied" if applied else "Plan"
    return (
        f"{verb}: {plan.count(Action.CREATED)} created, {plan.count(Action.CHANGED)} changed, "
        f"{plan.count(Action.REMOVED)} removed, {plan.count(Action.UNCHANGED)} unchanged"
        + (f", {plan.count(Action.RETAINED)} retained" if plan.count(Action.RETAINED) else "")
        + "."
    )


def _short(value: Any, limit: int = 60) -> str:
    text = "(absent)" if value is None else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_READY = {True: "yes", False: "no", None: "unknown"}


def tenants_table(tenants: Sequence[TenantSummary]) -> None:
    table = Table(
        Column("id", no_wrap=True),
        "name",
        "profile",
        "plan",
        "state",
        "ready",
        Column("gen", no_wrap=True),
        "envs",
        "teams",
        box=None,
        pad_edge=False,
    )
    for t in tenants:
        state = t.lifecycle_state.value
        gen = f"{t.observed_generation}/{t.generation}"
        table.add_row(
            *_texts(
                t.id,
                t.name,
                t.profile.value,
                t.plan,
                state,
                _READY[t.ready],
                gen,
                ",".join(t.environments),
                ",".join(t.teams),
            )
        )
    if not tenants:
        out.print("No tenants. Apply a bundle: tenantry apply -f BUNDLE")
        return
    show(table)


def plans_table(plans: Sequence[PlanView]) -> None:
    table = Table(
        Column("plan", no_wrap=True),
        "rate",
        "burst",
        "purge after",
        "source",
        "sets",
        box=None,
        pad_edge=False,
    )
    for plan in plans:
        effective = plan.effective
        days = effective["retention"]["purge_after"] / 86_400
        table.add_row(
            *_texts(
                plan.name,
                f"{effective['rate']:g}/s",
                str(effective["burst"]),
                f"{days:g}d",
                plan.source,
                ",".join(sorted(plan.limits)) or "-",
            )
        )
    show(table)


def tenant_detail(t: TenantDetail) -> None:
    out.print(Text(t.id, style="bold") + Text(f" {t.name}"))
    for label, value in (
        ("profile", t.profile.value),
        ("plan", t.plan),
        ("state", t.lifecycle_state.value),
        ("source", t.source.value),
        ("prevent deletion", "yes" if t.prevent_deletion else None),
        ("generation", f"{t.generation} (observed {t.observed_generation})"),
        ("deletion requested", t.deletion_requested_at),
        ("settings", json.dumps(t.settings, ensure_ascii=False)),
    ):
        if value is not None:
            out.print(f"  {label}: {value}", markup=False)
    _sub_table(
        "environments", ("id", "name"), [(e.id, e.name or "") for e in t.environment_details]
    )
    _sub_table(
        "teams and channels",
        ("team", "name", "flow", "channel", "provider", "channel flow"),
        _team_rows(t),
    )
    _sub_table(
        "flows", ("name", "version", "nodes"), [(f.name, f.version, str(f.nodes)) for f in t.flows]
    )
    _sub_table(
        "resources",
        ("kind", "name", "env", "variant", "orphaned"),
        [
            (
                str(r["kind"]),
                str(r["name"]),
                str(r["env_id"] or "*"),
                str(r.get("variant", "")),
                str(r.get("orphaned") or ""),
            )
            for r in t.resources
        ],
    )
    _sub_table(
        "placement",
        ("env", "relational", "objects", "messaging", "pool"),
        [
            (
                env,
                _placed(p["relational"]),
                _placed(p["objects"]),
                _placed(p["messaging"]),
                str(p["runtime_pool"]),
            )
            for env, p in (t.placement or {}).items()
        ],
    )
    _sub_table(
        "conditions",
        ("type", "status", "reason", "message", "since"),
        [
            (c.type, c.status, c.reason, c.message, c.last_transition_time.isoformat())
            for c in t.conditions
        ],
    )


def _placed(part: dict[str, Any]) -> str:
    name = part.get("name") or part.get("bucket") or part.get("stream") or part.get("prefix")
    return f"{part['mode']}: {name}"


def _team_rows(t: TenantDetail) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for team in t.team_details:
        head = (team.id, team.name or "", team.flow or "")
        rows += [(*head, c.id, c.provider, c.flow or "") for c in team.channels]
        rows += [(*head, "", "", "")] if not team.channels else []
    return rows


def rows(columns: Sequence[str], found: Sequence[Sequence[str]]) -> None:
    table = Table(*columns, box=None, pad_edge=False)
    for row in found:
        table.add_row(*_texts(*row))
    show(table)


def _sub_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    if not rows:
        return
    table = Table(*columns, title=title, title_justify="left", box=None, pad_edge=False)
    for row in rows:
        table.add_row(*_texts(*row))
    show(table)


_RESULT_STYLE = {"ready": "green", "degraded": "yellow", "failed": "red", "skipped": "dim"}


def outcomes_table(outcomes: Sequence[Outcome]) -> None:
    table = Table("tenant", "result", "steps", "message", box=None, pad_edge=False)
    for o in outcomes:
        table.add_row(
            o.tenant_id,
            Text(o.result, style=_RESULT_STYLE.get(o.result, "")),
            Text("\n".join(o.steps) or "-"),
            Text(o.message),
        )
    if not outcomes:
        out.print("Nothing to reconcile: every tenant's spec is observed.")
        return
    show(table)


def migration_summary(head: str, results: Sequence[MigrationResult]) -> None:
    failed = [r for r in results if r.error]
    if not results:
        out.print(f"Nothing to migrate: every tenant environment is at {head}.")
        return
    for r in failed:
        err.print(f"{r.tenant_id}/{r.env_id}: {r.error}", style="red", markup=False)
    out.print(
        f"Migrated {len(results) - len(failed)} tenant environment(s) to {head}"
        + (f"; {len(failed)} failed (run again to retry)." if failed else ".")
    )


def _texts(*values: str) -> list[Text]:
    """Cells as plain text: names and settings come from manifests and are never markup."""
    return [Text(value) for value in values]


def issues(found: Sequence[Issue]) -> None:
    for issue in found:
        err.print(str(issue), style="red", markup=False, highlight=False)
