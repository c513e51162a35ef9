"""Verifying in ranges: stitched spans vouch for exactly the chains the link-by-link verifier
finds intact, with the same report; any doubt leaves the verdict to it."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence

import pytest

from tenantry.tenancy.audit import canonical
from tenantry.tenancy.audit.ranges import RangeVerifier, Span, stitch
from tenantry.tenancy.audit.schemas import ChainReport
from tenantry.tenancy.audit.verify import PRUNE, Checkpoint, Link
from tests.unit.audit.test_pure import SETTLE, _Chain

Tamper = Callable[[list[Link]], list[Link]]


def _spans(
    chain: _Chain, links: Sequence[Link], cuts: Sequence[int], *signed: Checkpoint
) -> list[Span]:
    """The spans of ``links`` cut before each index of ``cuts``, as the workers would make."""
    bounds = [0, *cuts, len(links)]
    spans = []
    for start, end in itertools.pairwise(bounds):
        ranged = RangeVerifier(chain.chain, {c.seq: c.hash for c in signed}, settle=SETTLE)
        ranged.check(links[start:end])
        if (span := ranged.span()) is not None:
            spans.append(span)
    return spans


def _both(
    chain: _Chain, links: Sequence[Link], cuts: Sequence[int], *signed: Checkpoint
) -> tuple[ChainReport, ChainReport | None]:
    """The link-by-link report, and the stitched one (None: the ranges had a doubt)."""
    careful = chain.verifier(*signed)
    careful.check(links)
    stitched = chain.verifier(*signed)
    vouched = stitch(stitched, _spans(chain, links, cuts, *signed), settle=SETTLE)
    return careful.report(), stitched.report() if vouched else None


@pytest.mark.parametrize("cuts", [(), (1,), (4,), (3, 6), (1, 2, 3, 4, 5, 6, 7)])
def test_an_intact_chain_is_vouched_for_with_the_same_report(cuts: Sequence[int]) -> None:
    chain = _Chain(8)
    careful, stitched = _both(chain, chain.links, cuts, chain.checkpoint(4), chain.checkpoint(8))
    assert careful.breach is None
    assert stitched == careful


def _edit(links: list[Link]) -> list[Link]:
    seq, record, prev, hash_, values, text = links[4]
    assert values is not None
    links[4] = (seq, record, prev, hash_, [*values[:2], "mallory", *values[3:]], text)
    return links


def _relink(links: list[Link]) -> list[Link]:
    """A forged link, its hash right for a changed record: its successor no longer follows."""
    seq, record, prev, _, values, text = links[4]
    assert values is not None
    forged = [*values[:2], "mallory", *values[3:]]
    links[4] = (seq, record, prev, canonical.link_hash(prev, "acme", seq, forged), forged, text)
    return links


def _gone(links: list[Link]) -> list[Link]:
    seq, record, prev, hash_, _, text = links[3]
    links[3] = (seq, record, prev, hash_, None, text)
    return links


def _backdated(links: list[Link]) -> list[Link]:
    seq, record, prev, _, values, text = links[5]
    assert values is not None
    moved = [values[0], "2026-12-05T10:00:00.000000+00:00", *values[2:]]
    links[5] = (seq, record, prev, canonical.link_hash(prev, "acme", seq, moved), moved, text)
    return _rechain(links, 6)


def _rechain(links: list[Link], start: int) -> list[Link]:
    """Recompute every hash from index ``start`` on, as a tamperer who owns the database would."""
    for i in range(start, len(links)):
        seq, record, _, _, values, text = links[i]
        prev = links[i - 1][3]
        assert values is not None
        links[i] = (seq, record, prev, canonical.link_hash(prev, "acme", seq, values), values, text)
    return links


TAMPERS: dict[str, Tamper] = {
    "edited": _edit,
    "relinked": _relink,
    "record deleted": _gone,
    "link removed": lambda links: links[:3] + links[4:],
    "reordered": lambda links: [*links[:2], links[3], links[2], *links[4:]],
    "tail cut": lambda links: links[:6],
    "head cut": lambda links: links[2:],
    "backdated": _backdated,
    "rehashed after a checkpoint": lambda links: _rechain(_edit(links), 5),
}


@pytest.mark.parametrize("cuts", [(), (4,), (5,), (3, 6), (1, 2, 3, 4, 5, 6)])
@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_a_tampered_chain_is_never_vouched_for_as_intact(tamper: str, cuts: Sequence[int]) -> None:
    chain = _Chain(8)
    links = TAMPERS[tamper](list(chain.links))
    careful, stitched = _both(
        chain, links, [c for c in cuts if c < len(links)], chain.checkpoint(4), chain.checkpoint(8)
    )
    assert careful.breach is not None
    assert stitched is None or stitched == careful  # a cut tail: found against the checkpoint


def test_a_late_commit_within_the_settle_window_is_vouched_for() -> None:
    chain = _Chain(6)
    links = list(chain.links)
    seq, record, prev, _, values, text = links[3]
    assert values is not None
    late = [values[0], "2026-12-06T09:59:00.000000+00:00", *values[2:]]  # a minute earlier
    links[3] = (seq, record, prev, canonical.link_hash(prev, "acme", seq, late), late, text)
    links = _rechain(links, 4)
    for cuts in [(), (3,), (4,), (2, 5)]:
        careful, stitched = _both(chain, links, cuts)
        assert careful.breach is None and stitched == careful


def test_what_remains_after_a_prune_is_vouched_for_from_its_checkpoint() -> None:
    chain = _Chain(6)
    anchor = chain.checkpoint(3, PRUNE)
    careful, stitched = _both(chain, chain.links[3:], (2,), anchor)
    assert careful.breach is None and stitched == careful
    careful, stitched = _both(chain, chain.links[4:], (1,), anchor)
    assert careful.breach is not None and stitched is None


@pytest.mark.parametrize(
    "details",
    [{}, {"b": 1, "a": [1.5, 1e16, None, True]}, {"é": "ü\u2028", "nested": {"z": 1, "y": "\x00"}}],
)
def test_the_canonical_form_is_the_json_encoders_byte_for_byte(details: dict[str, object]) -> None:
    values = [7, "2026-12-06T10:31:05.999078+00:00", "a", "x", None, "denied", None, details]
    values += ["prod", None, "k", "/t", "h" * 64, "p:x"]
    encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert canonical.body(values) == encoder.encode(values)
    assert canonical.body(tuple(values)) == encoder.encode(values)
