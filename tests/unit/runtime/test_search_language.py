"""Which stemmer a tenant's ``settings.language`` names: tags, codes and names, or none."""

from __future__ import annotations

import pytest

from tenantry.runtime.search.language import LONGEST, STEMMED, stemming


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "english"),
        ("EN", "english"),
        ("en-US", "english"),
        ("en_GB", "english"),
        (" en-gb ", "english"),
        ("English", "english"),
        ("eng", "english"),
        ("de", "german"),
        ("de-CH-1996", "german"),
        ("ger", "german"),
        ("deu", "german"),
        ("German", "german"),
        ("fr-CA", "french"),
        ("fre", "french"),
        ("es-419", "spanish"),
        ("pt-BR", "portuguese"),
        ("nb", "norwegian"),
        ("nn-NO", "norwegian"),
        ("sr-Latn-RS", "serbian"),
        ("zh-Hans", None),  # no stemmer for Chinese
        ("ja", None),
        ("tlh", None),
        ("klingon", None),
        ("simple", None),
        ("e", None),
        ("", None),
        ("   ", None),
        ("en US", None),
        ("en--US", None),
        ("en-", None),
        ("en;DROP TABLE", None),
        ("1234", None),
        ("en-" + "x" * LONGEST, None),
        (None, None),
        (42, None),
        (["en"], None),
        ({"code": "en"}, None),
    ],
)
def test_stemming(language: object, expected: str | None) -> None:
    assert stemming(language) == expected


def test_every_stemmer_is_named_by_its_code_and_its_name() -> None:
    for code, name in STEMMED.items():
        assert stemming(code) == name
        assert stemming(name.capitalize()) == name
