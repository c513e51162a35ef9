"""How the defined policies are named in an error that points at an undefined one."""

from __future__ import annotations

from collections.abc import Iterable


def defined_policies(names: Iterable[str]) -> str:
    found = sorted(names)
    listed = ", ".join(found) if found else "none"
    return f"defined policies: {listed}; a bundle defines them under 'policies:'"
