"""Media types of objects: checked and normalised where an object is written, classified where it
is served.

A type is ``type/subtype`` followed by ``; name=value`` parameters (RFC 9110 section 8.3.1),
with the type and subtype as RFC 6838 section 4.2 restricts registered names (so no ``*``
wildcards). Control characters (tabs included), non-ASCII, empty or repeated parameters and
anything longer than :data:`MAX_LENGTH` are refused, never repaired. The type, subtype and
parameter names are case-insensitive and come back lower-cased; parameter values keep their case
(a multipart boundary is case-sensitive).
"""

from __future__ import annotations

import re
from typing import Final

from tenantry.core import ids
from tenantry.runtime.objects.errors import ContentTypeInvalid

OCTETS: Final = "application/octet-stream"
MAX_LENGTH: Final = 255  # the record frame keeps the type's length in one byte
_NAME: Final = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_TCHARS: Final = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED: Final = r'"(?:[ !#-\[\]-~]|\\[ -~])*"'
_ESSENCE: Final = re.compile(rf"({_NAME})/({_NAME})")
_PARAMETER: Final = re.compile(rf" *; *({_TCHARS})=({_TCHARS}|{_QUOTED})")

# Shown in place by a browser without running anything of the tenant's: everything else is served
# as an attachment (see docs/runtime.md, Objects). An allow-list, so that a type nobody thought
# of (text/html, image/svg+xml, any XML, scripts, PDF, ...) is downloaded rather than rendered.
_INLINE_TYPES: Final = frozenset({"text/plain", "text/csv", "application/json", OCTETS})
_INLINE_TOPS: Final = frozenset({"image", "audio", "video"})


def checked(content_type: str | None) -> str:
    """The normalised media type (:data:`OCTETS` when none was sent);
    :class:`ContentTypeInvalid` when it is malformed."""
    if content_type is None:
        return OCTETS
    if not isinstance(content_type, str) or len(content_type) > MAX_LENGTH:
        raise _invalid(content_type, f"is not a string of at most {MAX_LENGTH} characters")
    text = content_type.strip(" ")
    essence = _ESSENCE.match(text)
    if essence is None:
        raise _invalid(content_type, "does not start with a type/subtype such as text/plain")
    parts = [f"{essence.group(1)}/{essence.group(2)}".lower()]
    seen: set[str] = set()
    position = essence.end()
    while position < len(text):
        parameter = _PARAMETER.match(text, position)
        if parameter is None:
            raise _invalid(content_type, "has a malformed parameter (expected '; name=value')")
        name = parameter.group(1).lower()
        if name in seen:
            raise _invalid(content_type, f"names the parameter {name!r} twice")
        seen.add(name)
        parts.append(f"{name}={parameter.group(2)}")
        position = parameter.end()
    normalised = "; ".join(parts)
    if len(normalised) > MAX_LENGTH:
        raise _invalid(content_type, f"is longer than {MAX_LENGTH} characters once normalised")
    return normalised


def inline(content_type: str) -> bool:
    """Whether a browser may show an object of this (normalised) type in place: passive media
    and plain data only; XML-based types never (an SVG or XHTML document runs scripts)."""
    essence = content_type.split(";", 1)[0]
    top, _, subtype = essence.partition("/")
    if "xml" in subtype:
        return False
    return essence in _INLINE_TYPES or top in _INLINE_TOPS


def _invalid(content_type: object, problem: str) -> ContentTypeInvalid:
    return ContentTypeInvalid(f"Content-Type {ids.show(content_type)} {problem}")
