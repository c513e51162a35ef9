"""Which language a tenant's search stems by, from its manifest's free-form ``settings.language``.

A BCP 47 tag (``en``, ``en-GB``, ``pt_BR``), an ISO 639-2 code (``deu``, ``ger``) or an English
name (``German``) names one of the stemmers PostgreSQL ships; anything else, or nothing, means no
stemming. Backends map the result to what they have (docs/runtime.md, "Search").
"""

from __future__ import annotations

import re
from typing import Final

# ISO 639-1 code -> PostgreSQL's built-in text-search configuration (and Snowball stemmer).
STEMMED: Final = {
    "ar": "arabic",
    "ca": "catalan",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "ne": "nepali",
    "nl": "dutch",
    "nn": "norwegian",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
# ISO 639-2 codes (bibliographic and terminological) of the same languages.
_THREE_LETTER: Final = {
    "ara": "ar", "cat": "ca", "dan": "da", "deu": "de", "ger": "de", "ell": "el", "gre": "el",
    "eng": "en", "spa": "es", "eus": "eu", "baq": "eu", "fin": "fi", "fra": "fr", "fre": "fr",
    "gle": "ga", "hin": "hi", "hun": "hu", "hye": "hy", "arm": "hy", "ind": "id", "ita": "it",
    "lit": "lt", "nob": "nb", "nep": "ne", "nld": "nl", "dut": "nl", "nno": "nn", "nor": "no",
    "por": "pt", "ron": "ro", "rum": "ro", "rus": "ru", "srp": "sr", "swe": "sv", "tam": "ta",
    "tur": "tr", "yid": "yi",
}  # fmt: skip
_NAMES: Final = frozenset(STEMMED.values())
_PRIMARY: Final = re.compile(r"([A-Za-z]{2,12})(?:[-_][A-Za-z0-9]{1,8})*")
LONGEST: Final = 64  # characters; a longer value is not a language


def stemming(language: object) -> str | None:
    """The stemmer's name (``english``, ``german``...) for ``language``; ``None``: no stemming."""
    if not isinstance(language, str) or len(language) > LONGEST:
        return None
    match = _PRIMARY.fullmatch(language.strip())
    if match is None:
        return None
    primary = match.group(1).lower()
    if primary in _NAMES:
        return primary
    return STEMMED.get(_THREE_LETTER.get(primary, primary))
