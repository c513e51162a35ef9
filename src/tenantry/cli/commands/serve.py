"""``tenantry up``: apply a bundle if given, serve the API and run the worker loops in-process
(reconcile, jobs, the shared pool and every dedicated tenant's pool)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import secrets
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tenantry.cli import render

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

    from tenantry.bootstrap import Services
    from tenantry.core.settings import Settings
    from tenantry.tenancy.manifests.schemas import Bundle


def up(
    ctx: typer.Context,
    bundle: Annotated[
        Path | None, typer.Option(help="Apply this bundle (file or directory) before serving.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8080,
) -> None:
    """The main job: apply the bundle, serve the API and run the worker loop, in one process.

    On the embedded default (no TENANTRY_DATABASE_URL) it needs no service at all: the control
    database is a SQLite file under TENANTRY_DATA_DIR. Without TENANTRY_ADMIN_TOKEN a random
    admin token is made for this run and printed. A port in use ends it before (exit code 4).
    """
    from tenantry.cli import runner
    from tenantry.cli.audited import by_operator

    parsed = _bundle(bundle)
    listening = _bind(host, port)

    async def work(services: Services) -> None:
        if parsed is not None:
            audit = by_operator("bundle.apply", str(bundle)[:256])
            applied = await services.registry.apply(parsed, source=str(bundle), audit=audit)
            render.plan_table(applied, applied=True)
        await _serve(services, listening, host=host, port=port)

    with listening:  # closed however the run ends
        ctx.obj = _with_admin_token(runner.settings_of(ctx))
        runner.run(ctx, work)


def _bundle(path: Path | None) -> Bundle | None:
    """The bundle at ``path``; its problems, located, end the process (as ``apply`` does)."""
    from tenantry.cli import runner
    from tenantry.tenancy.manifests import loader
    from tenantry.tenancy.manifests.errors import ManifestError

    if path is None:
        return None
    try:
        return loader.load([path])
    except ManifestError as error:
        runner.fail(error)


def _bind(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything is applied or a token is made."""
    from tenantry.cli import runner
    from tenantry.core.errors import Conflict

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        reason = (
            "the address is already in use; stop what serves there or choose another port "
            "with --port (make run PORT=...)"
            if error.errno == errno.EADDRINUSE
            else str(error.strerror)
        )
        message = f"cannot listen on {host}:{port}: {reason}"
        runner.fail(Conflict(message, code="serve.address_unavailable"))
    return listening


def _with_admin_token(settings: Settings) -> Settings:
    from pydantic import SecretStr

    if settings.admin_token is not None:
        return settings
    token = secrets.token_urlsafe(24)
    render.err.print("TENANTRY_ADMIN_TOKEN is not set: made a one-off admin token for this run.")
    return settings.model_copy(update={"admin_token": SecretStr(token)})


async def _serve(services: Services, listening: socket.socket, *, host: str, port: int) -> None:
    import uvicorn

    from tenantry.api.app import create_app
    from tenantry.tenancy.pools.directory import EVERY as EVERY_POOL
    from tenantry.worker import loop

    app = create_app(services.settings, services=services)
    server = uvicorn.Server(server_config(app, host=host, port=port))
    server.capture_signals = lambda: _stopping_on_signals(server)  # type: ignore[method-assign]
    stop = asyncio.Event()
    worker = asyncio.create_task(loop.run_worker(services, stop=stop, pool=EVERY_POOL))
    announce = asyncio.create_task(_announce(server, services.settings, host=host, port=port))
    try:
        await server.serve(sockets=[listening])
    finally:
        stop.set()
        announce.cancel()
        await worker


@contextlib.contextmanager
def _stopping_on_signals(server: uvicorn.Server) -> Iterator[None]:
    """SIGINT and SIGTERM stop the server gracefully, and are then done with: uvicorn's own
    handling raises them again once it has stopped, which would cancel the worker loops' and
    the services' orderly shutdown (and end ``up`` with 130 instead of 0)."""
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, server.handle_exit, number, None)
    try:
        yield
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)


def server_config(app: ASGIApp, *, host: str, port: int) -> uvicorn.Config:
    """How the API is served: without uvicorn's ``server`` header (it names the software and
    its version to whoever asks), and without uvicorn's own ``X-Forwarded-For`` handling
    (the client address counts only from TENANTRY_TRUSTED_PROXIES, see ``api.doors``)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
        proxy_headers=False,
    )


async def _announce(server: uvicorn.Server, settings: Settings, *, host: str, port: int) -> None:
    # uvicorn offers no "listening" event; its `started` flag flips once the socket is bound.
    while not server.started:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    base = f"http://{host}:{port}"
    token = settings.admin_token.get_secret_value() if settings.admin_token else ""
    render.out.print(
        f"\nTenantry is serving on {base}  (API docs: {base}/docs, health: {base}/readyz)\n"
        "Try:\n"
        f"  curl -s -H 'Authorization: Bearer {token}' {base}/api/v1/tenants\n"
        "Press Ctrl+C to stop.",
        markup=False,
        highlight=False,
    )
