"""The recipes of every job kind, built over one :class:`Toolkit` (wired by ``bootstrap``).

Each module holds one kind's steps; :func:`recipes` maps kinds to them. A kind's steps are
compositions of the resource kinds' own steps (export, import, copy, verify, remove).
"""

from __future__ import annotations

from tenantry.tenancy.lifecycle.recipes import (
    archive,
    deletion,
    migration,
    restore,
    rotation,
    suspension,
)
from tenantry.tenancy.lifecycle.recipes.toolkit import Toolkit
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.lifecycle.steps import Recipes

__all__ = ["Toolkit", "recipes"]


def recipes(toolkit: Toolkit) -> Recipes:
    return {
        JobKind.SUSPEND: suspension.suspend(toolkit),
        JobKind.RESUME: suspension.resume(toolkit),
        JobKind.ROTATE_KEYS: rotation.rotate_keys(toolkit),
        JobKind.DELETE: deletion.delete(toolkit),
        JobKind.ARCHIVE: archive.archive(toolkit),
        JobKind.RESTORE: restore.restore(toolkit),
        JobKind.MIGRATE: migration.migrate(toolkit),
    }
