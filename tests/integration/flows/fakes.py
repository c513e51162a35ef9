"""Local servers on loopback for flow tests: a JSON API and an OpenAI-compatible model."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    requests: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0
    tokens: int = 30


def _handler(seen: Seen) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            entry = {"path": self.path, "headers": dict(self.headers), "body": body}
            seen.requests.append(entry)
            time.sleep(seen.delay)
            return entry

        def do_GET(self) -> None:
            entry = self._record()
            self._answer(
                200,
                {
                    "order": self.path.rsplit("/", 1)[-1],
                    "auth": entry["headers"].get("Authorization"),
                },
            )

        def do_POST(self) -> None:
            entry = self._record()
            if self.path.endswith("/chat/completions"):
                prompt = entry["body"]["messages"][-1]["content"]
                self._answer(
                    200,
                    {
                        "choices": [
                            {"message": {"role": "assistant", "content": f"echo: {prompt}"}}
                        ],
                        "usage": {
                            "prompt_tokens": seen.tokens - 10,
                            "completion_tokens": 10,
                            "total_tokens": seen.tokens,
                        },
                    },
                )
            else:
                self._answer(201, {"created": entry["body"]})

    return Handler


@contextmanager
def serving() -> Iterator[tuple[str, Seen]]:
    """A server on 127.0.0.1 (an ephemeral port): its base URL and what it saw."""
    seen = Seen()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(seen))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
