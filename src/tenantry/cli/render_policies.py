"""Policies for people: the stored policies, and one tenant's checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.table import Column, Table
from rich.text import Text

from tenantry.cli import render

if TYPE_CHECKING:
    from tenantry.tenancy.policy.views import CheckReport, PolicyView

_STATUS_STYLE = {"passed": "green", "failed": "red", "not set": "dim"}


def policies_table(policies: Sequence[PolicyView]) -> None:
    table = Table(Column("policy", no_wrap=True), "checks", "source", box=None, pad_edge=False)
    for policy in policies:
        sections = [k for k in ("residency", "encryption", "retention") if k in policy.spec]
        table.add_row(Text(policy.name), Text(", ".join(sections) or "-"), Text(policy.source))
    render.show(table)


def check_table(report: CheckReport) -> None:
    """One row per check; the reasons of a failed one under it; a due job at the end."""
    named = report.policy or "(none)"
    render.out.print(Text(f"tenant {report.tenant_id}  policy {named}  plan {report.plan}"))
    table = Table(Column("check", no_wrap=True), "status", "reason", box=None, pad_edge=False)
    for result in report.checks:
        status = Text(result.status.value, style=_STATUS_STYLE[result.status.value])
        reasons = result.reasons or [""]
        table.add_row(Text(result.check.value), status, Text(reasons[0]))
        for reason in reasons[1:]:
            table.add_row(Text(""), Text(""), Text(reason))
    render.show(table)
    for job in report.due:
        render.out.print(Text(f"due: {job} (`tenantry {job} {report.tenant_id}`)"))
