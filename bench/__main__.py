"""``make bench``: run every benchmark and print a Markdown table for docs/benchmarks.md."""

from __future__ import annotations

import platform
import sys

from bench import (
    access,
    archive,
    audit,
    audit_verify,
    cli,
    controller,
    events,
    fairness,
    idempotency,
    manifests,
    messaging,
    migration,
    overhead,
    policies,
    refusals,
    registry,
    search,
    secrets,
    sessions,
    state,
    suspend,
    tenant_data,
    webhooks,
)
from bench.harness import HEADER
from tenantry.core import logging

SUITES = {
    "cli": cli,
    "manifests": manifests,
    "registry": registry,
    "controller": controller,
    "state": state,
    "secrets": secrets,
    "sessions": sessions,
    "tenant_data": tenant_data,
    "search": search,
    "access": access,
    "overhead": overhead,
    "fairness": fairness,
    "refusals": refusals,
    "idempotency": idempotency,
    "suspend": suspend,
    "archive": archive,
    "migration": migration,
    "messaging": messaging,
    "policies": policies,  # policies (issue 13)
    "audit_verify": audit_verify,
    "events": events,  # issue 13
    "audit": audit,  # issue 13: audit overhead on API writes
    "webhooks": webhooks,  # issue 13
}


def main() -> None:
    logging.configure(level="WARNING")
    print(f"Python {platform.python_version()} on {platform.machine()}")
    print(HEADER)
    chosen = sys.argv[1:] or list(SUITES)
    for name in chosen:
        for result in SUITES[name].run():
            print(result.row(), flush=True)


if __name__ == "__main__":
    main()
