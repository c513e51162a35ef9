"""SIGKILL a worker after it saved a message's turn and before it published the reply: the
message is delivered again, processed once, and the user gets one reply (real NATS)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tenantry.backends.memory.bus import InProcessBus
from tenantry.bootstrap import flow_slots, services
from tenantry.core import names
from tenantry.core.settings import Settings
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.tenancy.manifests import loader
from tenantry.worker.runners import wiring
from tests.conftest import NATS_URL, REPO
from tests.integration.runners.conftest import BUNDLE, Stack, running, until

pytestmark = pytest.mark.postgres  # a real service (NATS), as the other real-service tests


async def test_a_worker_killed_mid_message_replies_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'control.sqlite3'}"
    settings = Settings(database_url=url, data_dir=tmp_path / "data", nats_url=NATS_URL)
    token = uuid.uuid4().hex[:8]
    bundle = tmp_path / "bundle.yaml"
    bundle.write_text(BUNDLE.format(shared=f"rs{token}", dedicated=f"rd{token}"))
    async with services(settings) as wired:
        if isinstance(wired.bus, InProcessBus):
            pytest.skip("needs the JetStream bus (TENANTRY_NATS_URL wired in bootstrap)")
        await wired.registry.apply(loader.load([bundle]))
        await wired.controller.reconcile(f"rs{token}")
        stack = Stack(wired, f"rs{token}", f"rd{token}")
        sent = await stack.send(stack.shared, "hello")
        worker = subprocess.Popen(  # noqa: ASYNC220 - the child is killed below, not awaited
            [
                sys.executable,
                "-m",
                "tests.e2e.runner_stepper",
                url,
                str(settings.data_dir),
                NATS_URL,
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        try:
            assert worker.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(worker.stdout.readline), 60)
            assert line.strip() == "SAVED"
            assert await stack.replies(stack.shared, sent.session_id) == ["Shared here"]
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            if worker.stdout is not None:
                worker.stdout.close()
        async with (
            flow_slots(settings, wired.limits) as slots,
            running(wiring.pool(wired, "shared", slots)),
        ):
            replies: list[Envelope] = []

            async def replied() -> bool:
                found = await wired.bus.fetch(
                    names.Direction.EGRESS, stack.shared, "prod", batch=10, wait=0.2
                )
                for delivery in found:
                    replies.append(Envelope.decode(delivery.data))
                    await delivery.ack()
                return bool(replies)

            await until(replied, seconds=90)
            await asyncio.sleep(1.0)  # a second reply, if any, would be there by now
            await replied()
        assert [(r.text, r.in_reply_to) for r in replies] == [("Shared here", sent.message_id)]
        assert await stack.replies(stack.shared, sent.session_id) == ["Shared here"]
