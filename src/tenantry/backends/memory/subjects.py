"""NATS subject matching: dot-separated tokens, ``*`` matches one token, ``>`` the rest."""

from __future__ import annotations


def matches(subject_filter: str, subject: str) -> bool:
    wanted, tokens = subject_filter.split("."), subject.split(".")
    for index, part in enumerate(wanted):
        if part == ">":
            return len(tokens) > index
        if index >= len(tokens) or part not in ("*", tokens[index]):
            return False
    return len(tokens) == len(wanted)
