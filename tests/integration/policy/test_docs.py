"""The example bundle of ``docs/policies.md`` runs as the page says, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tenantry.bootstrap import services
from tenantry.core.settings import Settings
from tenantry.tenancy.manifests import loader
from tenantry.tenancy.policy.errors import PolicyViolated

DOC = Path(__file__).parents[3] / "docs" / "policies.md"
[EXAMPLE] = [b for b in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S) if "policies:" in b]
REGIONS = {"embedded_region": "eu-west", "postgres_region": "eu-west"}


async def test_the_documented_bundle_applies_and_passes(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "bundle.yaml"
    path.write_text(EXAMPLE)
    async with services(settings.model_copy(update=REGIONS)) as wired:
        await wired.registry.apply(loader.load([path]))
        report = await wired.policies.check("acme")
        assert report.passed and report.policy == "eu-only"
        [policy] = await wired.policies.list()
        assert policy.name == "eu-only"


@pytest.mark.parametrize(
    ("text", "regions", "reason"),
    [
        ("region: eu-central ", REGIONS, "not 'eu-central' as declared"),
        (None, {}, "declares no region"),
    ],
)
async def test_the_documented_refusals(
    settings: Settings, tmp_path: Path, text: str | None, regions: dict[str, str], reason: str
) -> None:
    path = tmp_path / "bundle.yaml"
    changed = EXAMPLE.replace("region: eu-west                 #", f"{text}#") if text else EXAMPLE
    path.write_text(changed)
    async with services(settings.model_copy(update=regions)) as wired:
        with pytest.raises(PolicyViolated, match=reason):
            await wired.registry.apply(loader.load([path]))
