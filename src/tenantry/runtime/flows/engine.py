"""Running a flow for one message. (Foundation: ``reply`` nodes with a literal ``message``;
the node types of the extended format come with the flows work.)"""

from __future__ import annotations

from tenantry.runtime.flows.model import FlowDef
from tenantry.runtime.flows.turns import Turn
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.scope import TenantScope
from tenantry.runtime.sessions.schemas import Session


class FlowEngine:
    async def run(
        self, scope: TenantScope, flow: FlowDef, session: Session, message: Envelope
    ) -> Turn:
        replies = tuple(
            str(node.config.get("message", "")) for node in flow.nodes if node.type == "reply"
        )
        return Turn(replies=replies, cursor=None, variables=session.variables)
