"""Web-search query syntax, parsed into plain words (the grammar of PostgreSQL's
``websearch_to_tsquery``): words are ANDed, ``"quoted words"`` form a phrase, ``or`` between two
terms means either, ``-term`` excludes.

Terms keep only their words (runs of letters and digits), so nothing in the input survives as
syntax of a backend's own query language: ``title:x``, ``*``, ``NEAR(...)``, ``1=1`` and stray
quotes are just words or nothing. A query whose every alternative has no positive word matches
nothing on every backend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')  # a quoted phrase (maybe unterminated) or a run
_WORD = re.compile(r"[^\W_]+")  # letters and digits; '_' separates, as in both tokenizers

Phrase = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Alternative:
    """Documents holding every ``include`` phrase and no ``exclude`` phrase."""

    include: tuple[Phrase, ...]
    exclude: tuple[Phrase, ...]


@dataclass(frozen=True, slots=True)
class Query:
    alternatives: tuple[Alternative, ...]  # ORed; each has at least one included phrase

    @property
    def empty(self) -> bool:
        return not self.alternatives

    def websearch(self) -> str:
        """The query again in web-search syntax, words only: ``"a b" -"c" or "d"``."""
        return " or ".join(
            " ".join([*(_quoted(p) for p in alt.include), *("-" + _quoted(p) for p in alt.exclude)])
            for alt in self.alternatives
        )


def _quoted(phrase: Phrase) -> str:
    return '"' + " ".join(phrase) + '"'  # words hold no quote (letters and digits only)


def parse(text: str) -> Query:
    groups: list[tuple[list[Phrase], list[Phrase]]] = [([], [])]
    pending_or = False
    for match in _TOKEN.finditer(text):
        negated, quoted, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None and bare.lower() == "or":
            pending_or = bool(groups[-1][0] or groups[-1][1])
            continue
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            negated, bare = "-", bare[1:]
        phrase = tuple(_WORD.findall(quoted if bare is None else bare))
        if not phrase:
            continue
        if pending_or:
            groups.append(([], []))
            pending_or = False
        groups[-1][1 if negated else 0].append(phrase)
    return Query(
        tuple(Alternative(tuple(inc), tuple(exc)) for inc, exc in groups if inc),
    )
