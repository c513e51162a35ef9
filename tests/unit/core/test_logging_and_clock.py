"""Structured logs carry the tenant context; the clock is timezone-aware."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tenantry.core import clock, ids, logging
from tenantry.core.context import TenantCtx


def test_json_logs_carry_the_context(capsys: pytest.CaptureFixture[str]) -> None:
    logging.configure(fmt="json", level="INFO")
    ctx = TenantCtx(
        tenant_id=ids.TenantId("acme"),
        env_id=ids.EnvId("prod"),
        team_id=ids.TeamId("support"),
        correlation_id="c-1",
    )
    with logging.bind_context(ctx):
        logging.get_logger("test").info("something.happened", count=2)
    logging.get_logger("test").info("outside")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0] | {"timestamp": None} == {
        "event": "something.happened",
        "count": 2,
        "tenant_id": "acme",
        "env": "prod",
        "team": "support",
        "correlation_id": "c-1",
        "level": "info",
        "timestamp": None,
    }
    assert "tenant_id" not in lines[1]
    logging.configure()


def test_debug_is_filtered_at_info(capsys: pytest.CaptureFixture[str]) -> None:
    logging.configure(fmt="json", level="INFO")
    logging.get_logger("test").debug("hidden")
    assert capsys.readouterr().err == ""
    logging.configure()


def test_clocks() -> None:
    assert clock.utc_now().tzinfo is UTC
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    assert clock.fixed(moment)() == moment
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.fixed(datetime(2026, 1, 1))
