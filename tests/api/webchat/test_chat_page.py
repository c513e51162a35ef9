"""``/chat``: a public page that holds no tenant data, keeps the credential out of URLs the
server sees, and loads nothing from elsewhere."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tenantry.api import chatpage
from tenantry.bootstrap import Services


async def test_the_chat_page_is_served_with_a_strict_policy(
    chat: Services, http: httpx.AsyncClient
) -> None:
    first, second = await http.get("/chat"), await http.get("/chat")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/html")
    policy = first.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce is not None and f'nonce="{nonce.group(1)}"' in first.text
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert first.headers["cache-control"] == "no-store"
    assert first.headers["referrer-policy"] == "no-referrer"
    assert policy != second.headers["content-security-policy"]  # a nonce per response
    page = first.text
    assert "http://" not in page and "https://" not in page  # nothing loaded from elsewhere
    assert "history.replaceState" in page  # the fragment holding the credential is cleared
    assert "Authorization" in page and "localStorage" not in page and "cookie" not in page


async def test_the_chat_page_with_a_visitor_credential_reaches_only_its_routes(
    chat: Services, http: httpx.AsyncClient
) -> None:
    page = (await http.get("/chat")).text
    called = set(re.findall(r'path\("(/[a-z]+)"\)', page))
    assert called == {"/messages"}
    assert "/api/v1/channels/" in page


def test_the_chat_page_script_parses(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the script's syntax is not checked")
    page = chatpage.render("n0nce")
    script = page.split("<script", 1)[1].split(">", 1)[1].split("</script>", 1)[0]
    source = tmp_path / "chat.js"
    source.write_text(script)
    checked = subprocess.run([node, "--check", str(source)], capture_output=True, check=False)
    assert checked.returncode == 0, checked.stderr.decode()
