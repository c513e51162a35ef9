"""Which files a manifest path names, and which kind of manifest each file is."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantry.tenancy.manifests.errors import Issue


class Kind(enum.Enum):
    BUNDLE = "bundle"
    TENANT = "tenant"
    TEAM = "team"
    FLOW = "flow"


_SUFFIXES = (".yaml", ".yml")
_DIRECTORY_PARTS: tuple[tuple[str, Kind], ...] = (
    ("tenants", Kind.TENANT),
    ("teams", Kind.TEAM),
    ("flows", Kind.FLOW),
)


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    expected: Kind | None  # set when the file's place in a directory bundle fixes its kind


def expand(paths: Iterable[Path]) -> tuple[list[Source], list[Issue]]:
    """The manifest files behind files and directory bundles, in a stable order."""
    sources: list[Source] = []
    issues: list[Issue] = []
    for path in paths:
        if path.is_dir():
            found = _directory(path)
            if not found:
                issues.append(
                    Issue(
                        str(path),
                        0,
                        0,
                        "directory holds no bundle.yaml, tenants/, teams/ or flows/ manifests",
                    )
                )
            sources.extend(found)
        elif path.is_file():
            sources.append(Source(path, None))
        else:
            issues.append(Issue(str(path), 0, 0, "no such file or directory"))
    return sources, issues


def _directory(root: Path) -> list[Source]:
    found = [
        Source(root / name, Kind.BUNDLE)
        for name in ("bundle.yaml", "bundle.yml")
        if (root / name).is_file()
    ]
    for folder, kind in _DIRECTORY_PARTS:
        if (root / folder).is_dir():
            files = sorted(p for p in (root / folder).iterdir() if p.suffix in _SUFFIXES)
            found.extend(Source(p, kind) for p in files if p.is_file())
    return found


def detect(data: Mapping[str, Any]) -> Kind | None:
    """Tell a manifest's kind from its top-level keys."""
    if "tenants" in data:
        return Kind.BUNDLE
    if "tenant" in data:
        return Kind.TENANT
    if "team" in data:
        return Kind.TEAM
    if "nodes" in data:
        return Kind.FLOW
    if "flows" in data:
        return Kind.BUNDLE
    return None
