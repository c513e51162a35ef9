"""The flows in ``docs/flows.md`` are valid as shown (whole flows, and node fragments)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tenantry.tenancy.manifests.schemas import Flow

DOC = Path(__file__).parents[3] / "docs" / "flows.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.startswith(("name:", "  - id:"))])
def test_each_documented_flow_is_valid(block: str) -> None:
    text = block if block.startswith("name:") else "name: doc_flow\nversion: '1'\nnodes:\n" + block
    Flow.model_validate(yaml.safe_load(text))
