"""After a profile move (mt-standard -> st-dedicated), the tenant's messages flow through its
new pool: the shared pool drops it, its dedicated pool picks it up, without a restart."""

from __future__ import annotations

from pathlib import Path

from tenantry.tenancy.lifecycle.jobs import JobState
from tenantry.tenancy.lifecycle.states import JobKind
from tenantry.tenancy.manifests import loader
from tenantry.worker.runners import wiring
from tests.integration.runners.conftest import BUNDLE, Stack, pools, until


async def test_a_moved_tenants_messages_go_through_its_new_pool(
    stack: Stack, tmp_path: Path
) -> None:
    before = await stack.send(stack.shared, "before the move")
    moved = tmp_path / "moved.yaml"
    text = BUNDLE.format(shared=stack.shared, dedicated=stack.dedicated)
    moved.write_text(text.replace("profile: mt-standard", "profile: st-dedicated", 1))
    await stack.wired.registry.apply(loader.load([moved]))
    await stack.wired.controller.reconcile(stack.shared)
    (job,) = await stack.wired.lifecycle.list(tenant_id=stack.shared)
    assert job.kind is JobKind.MIGRATE
    done = await stack.wired.jobs.run(job.id)
    assert done is not None and done.state is JobState.SUCCEEDED, done
    shared = wiring.pool(stack.wired, "shared", None)  # type: ignore[arg-type]
    own = wiring.pool(stack.wired, f"tenant:{stack.shared}", None)  # type: ignore[arg-type]
    await shared.refresh()
    await own.refresh()
    assert stack.shared not in {e.tenant_id for e in shared.entries}
    assert {e.tenant_id for e in own.entries} == {stack.shared}
    after = await stack.send(stack.shared, "after the move", session=before.session_id)
    assert after.session_id == before.session_id
    async with pools(stack.wired, f"tenant:{stack.shared}"):
        await until(lambda: _replied(stack, before.session_id, 2))
    record = await stack.session(stack.shared, before.session_id)
    assert [e.text for e in record.transcript if e.role == "user"] == [
        "before the move",
        "after the move",
    ]


async def _replied(stack: Stack, session: str, count: int) -> bool:
    return len(await stack.replies(stack.shared, session)) >= count
