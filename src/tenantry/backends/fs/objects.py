"""Object spaces on the local disk: a directory per prefix in the shared area, or per bucket."""

from __future__ import annotations

import shutil
from pathlib import Path

from tenantry.core import files
from tenantry.tenancy.controller.resources import Kind, Resource, object_space
from tenantry.tenancy.isolation.placement import Objects, Placement


class DirectoryObjectProvisioner:
    kind = Kind.OBJECTS

    def __init__(self, root: Path) -> None:
        self._root = root

    def wanted(self, placement: Placement) -> Resource | None:
        return object_space(placement)

    def _path(self, resource: Resource) -> Path:
        if resource.variant == Objects.DEDICATED_BUCKET:
            return self._root / "buckets" / resource.name
        return self._root / "shared" / resource.name

    async def exists(self, resource: Resource) -> bool:
        return self._path(resource).is_dir()

    async def ensure(self, resource: Resource) -> None:
        files.private_dir(self._path(resource))

    async def retire(self, resource: Resource) -> None:
        path = self._path(resource)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)

    async def close(self) -> None:
        """Nothing held between calls."""
