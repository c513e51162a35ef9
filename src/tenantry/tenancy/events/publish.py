"""Writes the event schemas to ``docs/events/`` (``python -m tenantry.tenancy.events.publish
docs/events``); a test checks the committed files equal what this would write."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tenantry.tenancy.events.catalog import VERSION, every_schema


def documents() -> dict[str, str]:
    """File name to content: ``{name}.v{version}.json`` for each schema."""
    return {
        f"{name}.v{VERSION}.json": json.dumps(schema, indent=2, sort_keys=True) + "\n"
        for name, schema in every_schema().items()
    }


def main(folder: str) -> None:
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    for name, text in documents().items():
        (target / name).write_text(text)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/events")
