"""``/api/v1/objects``: the Content-Type sent is kept and served, a malformed one stores nothing,
objects stored bare before types were kept still read, and types a browser would run are served
as attachments."""

from __future__ import annotations

import httpx
import pytest

from tenantry.backends.fs.blobs import LocalBlobSpace
from tenantry.backends.keys.keyring import Keyring
from tenantry.bootstrap import Services
from tenantry.runtime.crypto import Binding, Sealer
from tests.api.runtime.support import as_, assert_problem

URL = "/api/v1/objects"


def _typed(content_type: str) -> dict[str, str]:
    return as_() | {"Content-Type": content_type}


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("text/plain", "text/plain"),
        ("Text/Plain; Charset=UTF-8", "text/plain; charset=UTF-8"),
        ("application/vnd.api+json", "application/vnd.api+json"),
        ('multipart/mixed;boundary="a b;c"', 'multipart/mixed; boundary="a b;c"'),
        ("application/octet-stream", "application/octet-stream"),
    ],
)
async def test_the_type_round_trips_normalised(
    api: httpx.AsyncClient, sent: str, kept: str
) -> None:
    written = await api.put(f"{URL}/doc", content=b"body", headers=_typed(sent))
    assert written.status_code == 200, written.text
    assert written.json()["content_type"] == kept
    read = await api.get(f"{URL}/doc", headers=as_())
    assert (read.content, read.headers["content-type"]) == (b"body", kept)
    assert read.headers["x-content-type-options"] == "nosniff"


async def test_no_type_is_octet_stream_and_a_rewrite_changes_the_type(
    api: httpx.AsyncClient,
) -> None:
    assert (await api.put(f"{URL}/doc", content=b"1", headers=as_())).status_code == 200
    read = await api.get(f"{URL}/doc", headers=as_())
    assert read.headers["content-type"] == "application/octet-stream"
    await api.put(f"{URL}/doc", content=b"{}", headers=_typed("application/json"))
    assert (await api.get(f"{URL}/doc", headers=as_())).headers["content-type"] == (
        "application/json"
    )


BAD_TYPES = [
    "",
    "text",
    "text/",
    "/plain",
    "*/*",
    "text/*",
    "text/plain;",
    "text/plain; charset",
    "text/plain; charset=",
    "text/plain; a=1; A=2",
    "text/plain, text/html",
    "text/pl ain",
    "text/plain;\tcharset=utf-8",
    'text/plain; x="unterminated',
    "t\u00e9xt/plain",
    "text/plain; x=" + "y" * 250,
    "a" * 128 + "/b",
]


@pytest.mark.parametrize("content_type", BAD_TYPES)
async def test_a_malformed_type_is_400_and_stores_nothing(
    api: httpx.AsyncClient, content_type: str
) -> None:
    await api.put(f"{URL}/kept", content=b"old", headers=_typed("text/plain"))
    headers = [(k.encode(), v.encode()) for k, v in as_().items()]
    headers.append((b"Content-Type", content_type.encode()))
    for key in ("new", "kept"):
        refused = await api.put(f"{URL}/{key}", content=b"new", headers=headers)
        assert_problem(refused, 400, "object.content_type_invalid")
    assert_problem(await api.get(f"{URL}/new", headers=as_()), 404, "object.not_found")
    kept = await api.get(f"{URL}/kept", headers=as_())
    assert (kept.content, kept.headers["content-type"]) == (b"old", "text/plain")


async def test_two_content_type_fields_are_400(api: httpx.AsyncClient) -> None:
    headers = [*as_().items(), ("Content-Type", "text/plain"), ("Content-Type", "text/html")]
    refused = await api.put(f"{URL}/doc", content=b"x", headers=headers)
    assert_problem(refused, 400, "object.content_type_invalid")


@pytest.mark.parametrize(
    ("content_type", "attachment"),
    [
        ("text/html", True),
        ("text/html; charset=utf-8", True),
        ("image/svg+xml", True),
        ("application/xhtml+xml", True),
        ("application/xml", True),
        ("text/javascript", True),
        ("application/pdf", True),
        ("application/x-unheard-of", True),
        ("image/png", False),
        ("video/mp4", False),
        ("text/plain; charset=utf-8", False),
        ("application/json", False),
        ("application/octet-stream", False),
    ],
)
async def test_active_types_are_attachments_and_every_object_is_sandboxed(
    api: httpx.AsyncClient, content_type: str, attachment: bool
) -> None:
    await api.put(f"{URL}/page", content=b"<script>alert(1)</script>", headers=_typed(content_type))
    read = await api.get(f"{URL}/page", headers=as_())
    assert read.headers["content-type"] == content_type
    assert read.headers.get("content-disposition") == ("attachment" if attachment else None)
    assert read.headers["content-security-policy"] == "sandbox"
    assert read.headers["x-content-type-options"] == "nosniff"


async def test_an_object_stored_bare_before_types_were_kept_reads_as_octets(
    api: httpx.AsyncClient, tenants: Services
) -> None:
    root = tenants.settings.data_dir.resolve()
    space = LocalBlobSpace(root / "objects" / "shared" / "tenants" / "acme" / "prod")
    sealed = Sealer(Keyring(root)).seal(Binding("acme", "prod", "object", "old.txt"), b"legacy")
    await space.put("old.txt", sealed)
    read = await api.get(f"{URL}/old.txt", headers=as_())
    assert (read.status_code, read.content) == (200, b"legacy")
    assert read.headers["content-type"] == "application/octet-stream"
    assert_problem(await api.get(f"{URL}/old.txt", headers=as_("bigcorp")), 404, "object.not_found")
    matched = await api.put(
        f"{URL}/old.txt",
        content=b"framed",
        headers=_typed("text/plain") | {"If-Match": read.headers["etag"]},
    )
    assert matched.status_code == 200, matched.text
    again = await api.get(f"{URL}/old.txt", headers=as_())
    assert (again.content, again.headers["content-type"]) == (b"framed", "text/plain")
