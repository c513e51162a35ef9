"""What the HTTP benchmarks share: a real uvicorn server in its own process, and a lean client.

The client speaks HTTP/1.1 on keep-alive connections with plain asyncio streams, so the
measuring process spends as little as possible per request and the server's work dominates.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

from fastapi import FastAPI

from tenantry.api.app import create_app
from tenantry.core import logging
from tenantry.core.settings import Settings

REPO: Final = Path(__file__).resolve().parents[1]
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextlib.contextmanager
def serve(
    factory: str, port: int, env: Mapping[str, str], *, quiet: bool = False
) -> Iterator[None]:
    """``uvicorn --factory factory`` on loopback for the block, with ``env`` added; ``quiet``
    sends the server's output (its logs) nowhere."""
    command = [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    # The client keeps idle connections for later rounds: uvicorn must not close them first.
    command += ["--timeout-keep-alive", "300"]
    output = subprocess.DEVNULL if quiet else None
    server = subprocess.Popen(
        command, cwd=REPO, env={**os.environ, **env}, stdout=output, stderr=output
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.1)
        yield
    finally:
        server.terminate()
        server.wait(timeout=10)


def app() -> FastAPI:
    """The tenant API, logging as its settings say (``uvicorn --factory`` configures nothing)."""
    settings = Settings()
    logging.configure(level=settings.log_level, fmt=settings.log_format)
    return create_app(settings)


class Client:
    """Keep-alive connections to one server, one request at a time on each."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[Connection] = []

    async def get(self, path: str, headers: Mapping[str, str]) -> int:
        """Send ``GET path`` and read the whole answer; its status code."""
        reader, writer = self.idle.pop() if self.idle else await self._open()
        fields = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n{fields}\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        self.idle.append((reader, writer))
        return int(head[9:12])

    async def send(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes = b""
    ) -> int:
        """Send ``method path`` with ``body`` and read the whole answer; its status code."""
        reader, writer = self.idle.pop() if self.idle else await self._open()
        fields = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        start = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(body)}\r\n"
        writer.write(f"{start}{fields}\r\n".encode() + body)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        self.idle.append((reader, writer))
        return int(head[9:12])

    async def _open(self) -> Connection:
        return await asyncio.open_connection("127.0.0.1", self.port)

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()
