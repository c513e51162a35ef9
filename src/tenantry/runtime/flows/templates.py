"""Flow templates: Jinja2 in its sandbox, so a tenant's template reaches only what it is given
(no attributes starting with ``_``, no unsafe calls) and cannot build huge values."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Final

from jinja2 import Template, TemplateError, meta
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from tenantry.runtime.flows.errors import FlowFailed

MAX_OUTPUT: Final = 16 * 1024  # characters: an envelope's text
_MAX_VALUE: Final = 64 * 1024
_MAX_EXPONENT: Final = 64


class _Sandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > _MAX_EXPONENT:
            raise SecurityError(f"an exponent above {_MAX_EXPONENT}")
        if operator == "*" and _too_long(left, right):
            raise SecurityError(f"a value longer than {_MAX_VALUE}")
        return super().call_binop(context, operator, left, right)


def _too_long(left: Any, right: Any) -> bool:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int):
            return len(seq) * times > _MAX_VALUE
    return False


_ENV: Final = _Sandbox(autoescape=False, keep_trailing_newline=False)


@functools.lru_cache(maxsize=1024)
def compiled(source: str) -> Template:
    """``source`` compiled; :class:`jinja2.TemplateSyntaxError` when it does not parse."""
    return _ENV.from_string(source)


@functools.lru_cache(maxsize=1024)
def names(source: str) -> frozenset[str]:
    """The top-level names ``source`` reads (``state``, ``settings``...)."""
    return frozenset(meta.find_undeclared_variables(_ENV.parse(source)))


def syntax_error(source: str) -> str | None:
    """Why ``source`` does not compile (with its line inside the template), or None."""
    try:
        compiled(source)
    except TemplateError as error:
        line = getattr(error, "lineno", None)
        return f"template error: {error.message}" + (f" (template line {line})" if line else "")
    return None


def render(source: str, context: Mapping[str, Any]) -> str:
    """``source`` rendered over ``context``; :class:`FlowFailed` on any rendering error."""
    try:
        text = compiled(source).render(context)
    except (TemplateError, ArithmeticError, TypeError, ValueError) as error:
        raise FlowFailed(f"a template failed to render: {error}") from None
    if len(text) > MAX_OUTPUT:
        raise FlowFailed(f"a template rendered {len(text)} characters, over {MAX_OUTPUT}")
    return text
