"""The export: JSON lines an auditor verifies offline (docs/audit.md, "Export").

Lines, in this order: one ``export`` header, every checkpoint public ``key`` ever used, every
``checkpoint``, then each chain's ``link`` lines in ``seq`` order, each holding its record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import IO, Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.core.errors import InvalidInput
from tenantry.tenancy.audit import canonical, export_lines, repository
from tenantry.tenancy.audit.links import Link
from tenantry.tenancy.audit.ports import PublicKeyInfo
from tenantry.tenancy.audit.schemas import Verdict
from tenantry.tenancy.audit.verify import ChainVerifier, Checkpoint, public_keys

FORMAT: Final = "tenantry-audit-export"
VERSION: Final = 1
_BATCH: Final = 10_000
_RECORD: Final = export_lines.RECORD


class ExportInvalid(InvalidInput):
    code = "audit.export_invalid"


async def write(
    session: AsyncSession,
    out: IO[str],
    *,
    chains: Sequence[str],
    keys: Sequence[PublicKeyInfo],
    now: datetime,
) -> int:
    """Write the export of ``chains``; the number of links written."""
    header = {"type": "export", "format": FORMAT, "version": VERSION, "fields": canonical.FIELDS}
    _line(out, {**header, "at": canonical.timestamp(now)})
    for key in keys:
        _line(out, {"type": "key", **_key_fields(key)})
    for chain in chains:
        for checkpoint in await repository.checkpoints(session, chain):
            _line(out, {"type": "checkpoint", **_checkpoint_fields(checkpoint)})
    written = 0
    for chain in chains:
        after = 0
        while batch := await repository.links(session, chain, after=after, limit=_BATCH):
            for link in batch:
                out.write(_link_line(chain, link))
            written += len(batch)
            after = batch[-1][0]
    return written


def verify_lines(lines: Iterable[str], *, settle: timedelta) -> Verdict:
    """Verify an export without a database: every chain it holds, as ``verify`` would."""
    keys: list[PublicKeyInfo] = []
    checkpoints: dict[str, list[Checkpoint]] = {}
    verifiers: dict[str, ChainVerifier] = {}
    for number, text, entry in _entries(lines):
        try:
            _take(entry, text, keys, checkpoints, verifiers, settle=settle)
        except (KeyError, TypeError, ValueError) as error:
            raise ExportInvalid(f"line {number} is not a valid export line: {error!r}") from error
    for chain, found in checkpoints.items():  # chains whose every link is gone
        if chain not in verifiers:
            verifiers[chain] = ChainVerifier(chain, found, public_keys(keys), settle=settle)
    return Verdict([verifiers[c].report() for c in sorted(verifiers)])


def _take(
    entry: dict[str, Any],
    text: str | None,
    keys: list[PublicKeyInfo],
    checkpoints: dict[str, list[Checkpoint]],
    verifiers: dict[str, ChainVerifier],
    *,
    settle: timedelta,
) -> None:
    """One line of an export: keys and checkpoints come before the links they verify."""
    kind = entry.get("type")
    if kind == "key":
        keys.append(PublicKeyInfo(entry["kid"], entry["created_at"], entry["public"]))
    elif kind == "checkpoint":
        checkpoint = Checkpoint(**{k: v for k, v in entry.items() if k != "type"})
        checkpoints.setdefault(checkpoint.chain, []).append(checkpoint)
    elif kind == "link":
        chain = entry["chain"]
        verifier = verifiers.get(chain)
        if verifier is None:
            found = checkpoints.get(chain, [])
            verifier = ChainVerifier(chain, found, public_keys(keys), settle=settle)
            verifiers[chain] = verifier
        verifier.check([export_lines.link(entry, text)])
    elif kind != "export":
        raise ValueError(f"unknown line type {kind!r}")


def _entries(lines: Iterable[str]) -> Iterator[tuple[int, str | None, dict[str, Any]]]:
    """Each line parsed, with a link's record text (what its hash covers) beside it."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            text, entry = export_lines.parsed(line)
        except ValueError as error:
            raise ExportInvalid(f"line {number} is not JSON: {error}") from error
        if not isinstance(entry, dict):
            raise ExportInvalid(f"line {number} is not a JSON object")
        yield number, text, entry


def _link_line(chain: str, link: Link) -> str:
    seq, record_id, prev, hash_, values, _ = link
    record = "null" if values is None else canonical.body(values)
    head = json.dumps({"type": "link", "chain": chain, "seq": seq, "record_id": record_id})
    return f'{head[:-1]}, "prev_hash": "{prev}", "hash": "{hash_}"{_RECORD}{record}}}\n'


def _key_fields(key: PublicKeyInfo) -> dict[str, str]:
    return {"kid": key.kid, "created_at": key.created_at, "public": key.public}


def _checkpoint_fields(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "chain": checkpoint.chain,
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "ts": checkpoint.ts,
        "kind": checkpoint.kind,
        "kid": checkpoint.kid,
        "signature": checkpoint.signature,
    }


def _line(out: IO[str], entry: dict[str, Any]) -> None:
    out.write(json.dumps(entry, separators=(",", ":")))
    out.write("\n")
