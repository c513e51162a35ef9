"""Reading an export's lines (docs/audit.md, "Export"): kept apart from the export's writer so a
verifying worker process imports no database layer."""

from __future__ import annotations

import json
from typing import Any, Final

from tenantry.tenancy.audit import canonical
from tenantry.tenancy.audit.links import Link

RECORD: Final = ', "record": '  # the last member of a link line
_WIDTH: Final = len(canonical.FIELDS)


def parsed(line: str) -> tuple[str | None, Any]:
    """A link line's record is parsed from the very text its hash covers, so what the hash
    proves is what is read (a duplicate key elsewhere in the line cannot stand in for it)."""
    split = line.find(RECORD)
    if split < 0:
        return None, json.loads(line)
    text = line[split + len(RECORD) : line.rindex("}")]
    entry = json.loads(line[:split] + "}")
    if isinstance(entry, dict):
        entry["record"] = json.loads(text)
    return text, entry


def link(entry: dict[str, Any], text: str | None) -> Link:
    """A link line; its record is the canonical form itself (the last member, as written),
    so its hash is checked on the text as it stands: the hash proves the text canonical."""
    values = entry["record"]
    if values is not None and not (isinstance(values, list) and len(values) == _WIDTH):
        raise TypeError("a link's record is an array of the header's fields")
    found = None if values is None else text
    return (entry["seq"], entry["record_id"], entry["prev_hash"], entry["hash"], values, found)
