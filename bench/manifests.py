"""Loading a 1,000-tenant bundle: located, validated, cross-checked, vs plain ``yaml.safe_load``.

The anchor only parses; Tenantry also refuses anchors and duplicate keys, keeps every value's
line and column, validates every id and field, and checks references across files.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from bench.harness import Result, median_time
from tenantry.tenancy.manifests import loader

TENANTS = 1000


def bundle_text(count: int) -> str:
    lines = ["tenants:"]
    for i in range(count):
        lines += [
            f"  tenant-{i}:",
            f'    name: "Tenant {i}"',
            "    environments: [{id: prod}, {id: staging}]",
            "    teams:",
            "      support:",
            "        channels:",
            "          webchat: {provider: messaging-webchat}",
        ]
    return "\n".join(lines) + "\n"


def run() -> list[Result]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bundle.yaml"
        path.write_text(bundle_text(TENANTS))
        ours = median_time(lambda: loader.load([path]), runs=5)
        anchor = median_time(lambda: yaml.safe_load(path.read_text()), runs=5)
    return [Result(f"load + validate {TENANTS}-tenant bundle", ours, anchor, "yaml.safe_load")]
