"""Running a flow for one message: one turn, from the session's cursor (or the first node) to
the next ``ask``, ``handoff``, ``end`` or the end of the list, in a bounded number of steps."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import httpx
from pydantic import BaseModel

from tenantry.runtime.flows import schemas, templates
from tenantry.runtime.flows.check import templates_of
from tenantry.runtime.flows.effects import Effects, idempotency_key
from tenantry.runtime.flows.egress import EgressGuard, Resolver, system_resolver
from tenantry.runtime.flows.errors import FlowFailed
from tenantry.runtime.flows.model import FlowDef, Node
from tenantry.runtime.flows.ports import NoSettings, NoTokens, TenantSettings, TokenMeter
from tenantry.runtime.flows.turns import Turn
from tenantry.runtime.messaging.envelope import Envelope
from tenantry.runtime.scope import TenantScope
from tenantry.runtime.sessions.schemas import FlowCursor, Session

MAX_STEPS: Final = 64  # nodes one turn may run (validation already refuses endless loops)
_MATCHED_TEXT: Final = 4096  # characters of a message that branches look at


@dataclass(slots=True)
class _Walk:
    """A turn in progress."""

    scope: TenantScope
    flow: FlowDef
    session: Session
    message: Envelope
    settings: Mapping[str, Any]
    variables: dict[str, Any]
    state: dict[str, Any]
    configs: tuple[BaseModel, ...] = ()
    replies: list[str] = field(default_factory=list)
    state_changed: bool = False

    def context(self) -> dict[str, Any]:
        m = self.message
        return {
            "message": {
                "text": m.text,
                "user_id": m.user_id,
                "channel_id": m.channel_id,
                "team_id": m.team_id,
                "session_id": m.session_id,
                "message_id": m.message_id,
            },
            "input": m.text,
            "vars": self.variables,
            "session": {"id": self.session.session_id, "variables": self.variables},
            "state": self.state,
            "settings": self.settings,
        }

    def render(self, source: str) -> str:
        return templates.render(source, self.context())


class FlowEngine:
    def __init__(
        self,
        *,
        settings: TenantSettings | None = None,
        tokens: TokenMeter | None = None,
        egress_allow: Iterable[str] = (),
        resolver: Resolver = system_resolver,
        transport: httpx.AsyncBaseTransport | None = None,
        max_steps: int = MAX_STEPS,
    ) -> None:
        self._settings = settings or NoSettings()
        guard = EgressGuard(allow=egress_allow, resolver=resolver)
        self._effects = Effects(guard, tokens or NoTokens(), transport)
        self._max_steps = max_steps

    async def run(
        self, scope: TenantScope, flow: FlowDef, session: Session, message: Envelope
    ) -> Turn:
        """The turn ``flow`` answers to ``message`` in ``session``; the session itself is not
        written (the caller records the turn), the team's state is when a ``set`` changes it."""
        configs, uses = _prepared(flow)
        settings = await self._settings.get(scope.ctx.tenant_id) if "settings" in uses else {}
        state = await _state(scope, session.session_id) if "state" in uses else {}
        walk = _Walk(
            scope,
            flow,
            session,
            message,
            MappingProxyType(dict(settings)),
            dict(session.variables),
            state,
            configs,
        )
        turn = await self._walk(walk, self._start(walk))
        if walk.state_changed:
            await scope.team.state.set(session.session_id, walk.state)
        return turn

    def _start(self, walk: _Walk) -> int | None:
        """Where the turn starts: after the ``ask`` the session waits on, else the top."""
        cursor, flow = walk.session.cursor, walk.flow
        if cursor is None or cursor.flow != flow.name:
            return 0
        index = _index(flow, cursor.node)
        if index is None or flow.nodes[index].type != "ask":
            return 0
        node = flow.nodes[index]
        save_as = node.config.get("save_as")
        if save_as:
            walk.variables[str(save_as)] = walk.message.text
        return _after(flow, index)

    async def _walk(self, walk: _Walk, index: int | None) -> Turn:
        steps = 0
        while index is not None:
            if steps == self._max_steps:
                raise FlowFailed(
                    f"flow {walk.flow.name!r} ran {steps} nodes in one turn without an ask",
                    details={"flow": walk.flow.name, "max_steps": steps},
                )
            steps += 1
            node = walk.flow.nodes[index]
            outcome = await self._step(walk, node, walk.configs[index])
            if isinstance(outcome, Turn):
                return outcome
            index = _after(walk.flow, index) if outcome is None else _index(walk.flow, outcome)
        return self._turn(walk)

    async def _step(self, walk: _Walk, node: Node, config: BaseModel) -> Turn | str | None:
        """Run ``node``: a finished turn, or the id of the next node (None: the default)."""
        explicit = node.next
        if isinstance(config, schemas.Reply):
            walk.replies.append(walk.render(config.message))
        elif isinstance(config, schemas.Ask):
            walk.replies.append(walk.render(config.message))
            cursor = FlowCursor(walk.flow.name, node.id, walk.flow.version)
            return self._turn(walk, cursor=cursor)
        elif isinstance(config, schemas.Set):
            _set(walk, config)
        elif isinstance(config, schemas.Branch):
            return _branch(walk.message.text, config)
        elif isinstance(config, schemas.Call):
            await self._call(walk, node, config)
        elif isinstance(config, schemas.Llm):
            await self._llm(walk, node, config)
        elif isinstance(config, schemas.Handoff):
            return self._handoff(walk, node, config)
        elif isinstance(config, schemas.End):
            if config.message is not None:
                walk.replies.append(walk.render(config.message))
            return self._turn(walk, ended=True)
        return explicit

    async def _call(self, walk: _Walk, node: Node, config: schemas.Call) -> None:
        result = await self._effects.call(
            config,
            walk.context(),
            secrets=walk.scope.team.secrets,
            key=idempotency_key(walk.message.message_id, node.id),
        )
        if config.save_as is not None:
            walk.variables[config.save_as] = result

    async def _llm(self, walk: _Walk, node: Node, config: schemas.Llm) -> None:
        text = await self._effects.llm(
            config,
            walk.context(),
            tenant_id=walk.scope.ctx.tenant_id,
            secrets=walk.scope.team.secrets,
            key=idempotency_key(walk.message.message_id, node.id),
        )
        if text is None:
            text = walk.render(config.fallback)
        if config.save_as is not None:
            walk.variables[config.save_as] = text
        if config.reply:
            walk.replies.append(text[: templates.MAX_OUTPUT])

    def _handoff(self, walk: _Walk, node: Node, config: schemas.Handoff) -> Turn:
        if config.message is not None:
            walk.replies.append(walk.render(config.message))
        reason = None if config.reason is None else walk.render(config.reason)
        details = {"node": node.id, "to": config.to, "reason": reason}
        return self._turn(walk, handoff=MappingProxyType(details))

    @staticmethod
    def _turn(
        walk: _Walk,
        *,
        cursor: FlowCursor | None = None,
        ended: bool = False,
        handoff: Mapping[str, Any] | None = None,
    ) -> Turn:
        return Turn(
            replies=tuple(walk.replies),
            cursor=cursor,
            variables=MappingProxyType(walk.variables),
            ended=ended,
            handoff=handoff,
        )


def _prepared(flow: FlowDef) -> tuple[tuple[BaseModel, ...], frozenset[str]]:
    """The nodes' typed configs, and the names the flow's templates read (a ``set`` of state
    reads the state too), derived once per flow object (the catalog caches flows)."""
    if "configs" not in flow.prepared:
        configs = tuple(
            schemas.CONFIGS[node.type].model_validate(dict(node.config)) for node in flow.nodes
        )
        uses: set[str] = set()
        for config in configs:
            uses.update(*(templates.names(source) for _, source in templates_of(config)))
            if isinstance(config, schemas.Set) and config.state:
                uses.add("state")
        flow.prepared.update(configs=configs, uses=frozenset(uses))
    return flow.prepared["configs"], flow.prepared["uses"]


async def _state(scope: TenantScope, session_id: str) -> dict[str, Any]:
    value = await scope.team.state.get(session_id)
    return dict(value) if isinstance(value, Mapping) else {}


def _set(walk: _Walk, config: schemas.Set) -> None:
    for name, source in config.variables.items():
        walk.variables[name] = walk.render(source)
    for name, source in config.state.items():
        walk.state[name] = walk.render(source)
        walk.state_changed = True


def _branch(text: str, config: schemas.Branch) -> str:
    text = text[:_MATCHED_TEXT]
    for case in config.cases:
        if case.regex is not None and re.search(case.regex, text):
            return case.next
        for word in case.keywords or ():
            if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE):
                return case.next
    return config.default


def _index(flow: FlowDef, node_id: str) -> int | None:
    for index, node in enumerate(flow.nodes):
        if node.id == node_id:
            return index
    return None


def _after(flow: FlowDef, index: int) -> int | None:
    """The node after ``index``: its ``next``, else the following one (None past the last)."""
    explicit = flow.nodes[index].next
    if explicit is not None:
        return _index(flow, explicit)
    return index + 1 if index + 1 < len(flow.nodes) else None
