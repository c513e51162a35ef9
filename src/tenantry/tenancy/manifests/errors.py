"""Manifest problems: every one located by file, line and column, all reported at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tenantry.core.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in one manifest file; ``line`` and ``column`` are 1-based, 0 when unknown."""

    file: str
    line: int
    column: int
    message: str

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: {self.message}"


class ManifestError(InvalidInput):
    code = "manifest.invalid"

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = tuple(sorted(issues, key=lambda i: (i.file, i.line, i.column)))
        count = len(self.issues)
        summary = f"{count} problem{'s' if count != 1 else ''} in the manifests"
        super().__init__(
            summary + ":\n" + "\n".join(f"  {issue}" for issue in self.issues),
            details={"issues": [issue.as_dict() for issue in self.issues]},
        )
