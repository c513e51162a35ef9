"""The page of ``/chat``: HTML and a little JS, no build step, nothing loaded from elsewhere.

The visitor credential never travels in a URL the server sees: the page takes it from the
URL fragment (``/chat#token=...``, which browsers do not send), clears the fragment at once and
keeps the credential in memory only (a reload asks for it again); or the person pastes it. The
credential names its channel and session (its ``conv`` claim, read from the token's payload);
the page posts with ``fetch`` and long-polls the session's outgoing messages (EventSource
cannot send an ``Authorization`` header).
"""

from __future__ import annotations

from typing import Final

PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Tenantry chat</title>
<style nonce="{nonce}">
body {{ font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }}
#log {{ border: 1px solid #ccc; border-radius: .5rem; padding: .5rem; height: 24rem;
        overflow-y: auto; margin-bottom: .5rem; }}
.msg {{ margin: .3rem 0; padding: .4rem .6rem; border-radius: .5rem; max-width: 80%;
        white-space: pre-wrap; }}
.user {{ background: #dbeafe; margin-left: auto; }}
.bot {{ background: #f3f4f6; }}
.note {{ color: #6b7280; font-size: .9rem; }}
form {{ display: flex; gap: .5rem; }}
input {{ flex: 1; padding: .4rem; }}
[hidden] {{ display: none !important; }}
</style>
</head>
<body>
<h1>Chat</h1>
<form id="login">
  <input id="credential" type="password" autocomplete="off"
         placeholder="Paste your visitor credential" aria-label="Visitor credential">
  <button>Start</button>
</form>
<div id="chat" hidden>
  <p class="note" id="where"></p>
  <div id="log" aria-live="polite"></div>
  <form id="say">
    <input id="text" autocomplete="off" maxlength="16384" placeholder="Type a message"
           aria-label="Message">
    <button>Send</button>
  </form>
</div>
<p class="note" id="status"></p>
<script nonce="{nonce}">
"use strict";
const chat = {{ token: null, channel: null, session: null, after: null }};
const $ = (id) => document.getElementById(id);

function claims(token) {{
  const part = token.split(".")[1] || "";
  const text = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(text);
}}

function say(text, who) {{
  const line = document.createElement("div");
  line.className = "msg " + who;
  line.textContent = text;
  $("log").appendChild(line);
  $("log").scrollTop = $("log").scrollHeight;
}}

function status(text) {{ $("status").textContent = text; }}

function headers() {{
  return {{ "Authorization": "Bearer " + chat.token, "Content-Type": "application/json" }};
}}

function path(tail) {{
  return "/api/v1/channels/" + encodeURIComponent(chat.channel) + tail;
}}

function start(token) {{
  let conv;
  try {{ conv = claims(token).conv; }} catch (e) {{ conv = null; }}
  if (!conv) {{ status("That is not a visitor credential."); return; }}
  Object.assign(chat, {{ token: token, channel: conv.channel, session: conv.session }});
  $("login").hidden = true;
  $("chat").hidden = false;
  $("where").textContent = "Channel " + conv.channel + ", conversation " + conv.session;
  $("text").focus();
  poll();
}}

async function poll() {{
  while (chat.token) {{
    let url = path("/messages") + "?wait=25&session_id=" + encodeURIComponent(chat.session);
    if (chat.after !== null) url += "&after=" + chat.after;
    try {{
      const answer = await fetch(url, {{ headers: headers(), cache: "no-store" }});
      if (answer.ok) {{
        const body = await answer.json();
        body.messages.forEach((m) => say(m.text, "bot"));
        chat.after = body.next_after;
        status("");
        continue;
      }}
      const problem = await answer.json().catch(() => ({{}}));
      if ([401, 403, 404, 423].includes(answer.status)) {{
        status(problem.detail || "The conversation is closed.");
        chat.token = null;
        return;
      }}
      status(problem.detail || "Retrying...");
    }} catch (e) {{
      status("Connection lost; retrying...");
    }}
    await new Promise((done) => setTimeout(done, 2000));
  }}
}}

$("login").addEventListener("submit", (event) => {{
  event.preventDefault();
  const value = $("credential").value.trim();
  $("credential").value = "";
  start(value);
}});

$("say").addEventListener("submit", async (event) => {{
  event.preventDefault();
  const text = $("text").value;
  if (!text.trim() || !chat.token) return;
  $("text").value = "";
  say(text, "user");
  const answer = await fetch(path("/messages"), {{
    method: "POST", headers: headers(), body: JSON.stringify({{ text: text }})
  }});
  if (!answer.ok) {{
    const problem = await answer.json().catch(() => ({{}}));
    status(problem.detail || "Not sent.");
  }}
}});

const fragment = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
if (fragment) {{
  history.replaceState(null, "", window.location.pathname);
  start(decodeURIComponent(fragment[1]));
}}
</script>
</body>
</html>
"""


def render(nonce: str) -> str:
    return PAGE.format(nonce=nonce)


def policy(nonce: str) -> str:
    """The page's Content-Security-Policy: its own inline script and style, calls to its own
    origin, nothing else (no frames, no forms posted elsewhere, no base URL)."""
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
