"""A secret's plaintext behind a wrapper that never shows it by accident."""

from __future__ import annotations

import hmac
from typing import NoReturn

from tenantry.core.errors import InvalidInput

_HIDDEN = "SecretValue('**********')"


class SecretValue:
    """The plaintext of one secret version.

    ``repr``, ``str`` and f-strings show a mask, so logging or rendering a value by mistake
    leaks nothing; only :meth:`reveal` and :meth:`reveal_text` give the bytes out.
    """

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = bytes(value)

    def reveal(self) -> bytes:
        return self._value

    def reveal_text(self) -> str:
        """The value as UTF-8 text; :class:`InvalidInput` when it is binary."""
        try:
            return self._value.decode("utf-8")
        except UnicodeDecodeError:
            # ``from None``: the decode error would quote the offending bytes.
            raise InvalidInput(
                "the secret value is binary, not UTF-8 text", code="secret.not_text"
            ) from None

    def __repr__(self) -> str:
        return _HIDDEN

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return _HIDDEN

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretValue):
            return NotImplemented
        return hmac.compare_digest(self._value, other._value)  # no timing side channel

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> NoReturn:
        raise TypeError("secret values are not pickled")
