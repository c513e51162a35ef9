"""The bus contract's harness: a bus and provisioned tenant environments, on either backend."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from tenantry.backends.memory.bus import InProcessBus
from tenantry.backends.nats.bus import JetStreamBus
from tenantry.backends.nats.streams import JetStreamProvisioner, StreamLimits
from tenantry.core import names
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.messaging.limits import BusLimits
from tenantry.runtime.messaging.ports import Bus
from tenantry.tenancy.controller.resources import Resource
from tenantry.tenancy.isolation.strategies import Layout, place
from tenantry.tenancy.manifests.schemas import Profile
from tests.conftest import NATS_URL

ACK_WAIT = 1.0  # seconds: short, so the contract can watch a delivery expire


def unique(head: str = "t") -> str:
    return f"{head}{uuid.uuid4().hex[:10]}"


@dataclass
class Harness:
    """Makes buses on one backend; every tenant environment it hands out is provisioned
    (on NATS: streams and consumers of this test's own, retired at the end)."""

    backend: str  # memory | nats-shared | nats-dedicated
    prefix: str = field(default_factory=lambda: f"{unique('bt')}.messaging")
    layout: Layout = field(init=False)
    buses: list[Bus] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    stream_limits: StreamLimits = field(
        default_factory=lambda: StreamLimits(ack_wait_seconds=ACK_WAIT)
    )

    def __post_init__(self) -> None:
        self.layout = Layout(
            shared_stream=unique("bt"), shared_shards=1, subject_prefix=self.prefix
        )

    @property
    def on_nats(self) -> bool:
        return self.backend.startswith("nats")

    def bus(self, *, max_msgs: int = 100) -> Bus:
        limits = BusLimits(max_msgs=max_msgs, ack_wait=ACK_WAIT, dedup_window=60.0)
        made: Bus = (
            JetStreamBus(NATS_URL, prefix=self.prefix, limits=limits)
            if self.on_nats
            else InProcessBus(prefix=self.prefix, limits=limits)
        )
        self.buses.append(made)
        return made

    def provisioner(self) -> JetStreamProvisioner:
        return JetStreamProvisioner(NATS_URL, layout=self.layout, limits=self.stream_limits)

    async def tenant(self, env: str = "prod") -> str:
        """A new tenant id whose environment ``env`` is ready to carry messages."""
        tenant = unique()
        if self.on_nats:
            profile = (
                Profile.ST_DEDICATED if self.backend == "nats-dedicated" else Profile.MT_STANDARD
            )
            provisioner = self.provisioner()
            resource = provisioner.wanted(place(profile, tenant, env, self.layout))
            try:
                await provisioner.ensure(resource)
            finally:
                await provisioner.close()
            self.resources.append(resource)
        return tenant

    async def close(self) -> None:
        for bus in self.buses:
            await bus.close()
        if self.resources:
            provisioner = self.provisioner()
            for resource in self.resources:
                await provisioner.retire(resource)
            await provisioner.close()

    def subject(
        self,
        tenant: str,
        *,
        direction: names.Direction = names.Direction.INGRESS,
        channel: str = "webchat",
        env: str = "prod",
        team: str | None = None,
    ) -> str:
        return names.subject(direction, tenant, env, team, channel, prefix=self.prefix)

    def envelope(self, tenant: str, text: str = "hello", **fields: object) -> Envelope:
        values: dict[str, object] = {
            "message_id": uuid.uuid4().hex,
            "tenant_id": tenant,
            "env_id": "prod",
            "channel_id": "webchat",
            "session_id": "s1",
            "user_id": "u1",
            "text": text,
            "sent_at": "2026-12-06T00:00:00Z",
        }
        return Envelope.of(**(values | fields))

    async def send(self, bus: Bus, tenant: str, text: str = "hello", **fields: object) -> Envelope:
        envelope = self.envelope(tenant, text, **fields)
        direction = names.Direction.EGRESS if envelope.role == "assistant" else None
        subject = envelope.subject(direction or names.Direction.INGRESS, prefix=self.prefix)
        await bus.publish(subject, envelope.encode(), message_id=envelope.message_id)
        return envelope
