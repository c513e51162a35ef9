"""Access proofs: values that exist only once the caller's role was found to allow an action.

Each proof type is bound to one :class:`~tenantry.tenancy.access.permissions.Action` and checks
it when made, so holding a :class:`WriteAccess` proves the caller may write in its context's
tenant environment and team (whose stores ``team`` holds). Routes obtain them from the
dependencies of :mod:`tenantry.api.caller` (``Reader``, ``Writer``, ...), never by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, overload

from tenantry.core import ids
from tenantry.core.context import TenantCtx
from tenantry.runtime.scope import TenantScope
from tenantry.runtime.teams import TeamStores
from tenantry.tenancy.access.errors import UserRequired, VisitorScope, VisitorUser
from tenantry.tenancy.access.permissions import Action, require
from tenantry.tenancy.access.schemas import Conversation, Principal, Role


@dataclass(frozen=True, slots=True)
class TenantAccess:
    """The checked caller of a tenant route (a subclass names the action it proves)."""

    action: ClassVar[Action]
    principal: Principal
    ctx: TenantCtx
    role: Role
    scope: TenantScope

    def __post_init__(self) -> None:
        require(self.role, self.action, tenant=self.ctx.tenant_id)

    @property
    def team(self) -> TeamStores:
        """Sessions, state and secrets of the context's team."""
        return self.scope.team


@dataclass(frozen=True, slots=True)
class ReadAccess(TenantAccess):
    action: ClassVar[Action] = Action.READ


@dataclass(frozen=True, slots=True)
class WriteAccess(TenantAccess):
    action: ClassVar[Action] = Action.WRITE


@dataclass(frozen=True, slots=True)
class SecretsReadAccess(TenantAccess):
    action: ClassVar[Action] = Action.SECRETS_READ


@dataclass(frozen=True, slots=True)
class SecretsWriteAccess(TenantAccess):
    action: ClassVar[Action] = Action.SECRETS_WRITE


@dataclass(frozen=True, slots=True)
class AdminAccess(TenantAccess):
    action: ClassVar[Action] = Action.ADMIN


@dataclass(frozen=True, slots=True)
class VisitorMintAccess(TenantAccess):
    action: ClassVar[Action] = Action.MINT_VISITORS


@dataclass(frozen=True, slots=True)
class ConversationAccess(TenantAccess):
    """The checked caller of a channel's conversations (webchat): a team role that allows
    ``action`` (any session of the team on the channel), or a visitor credential, whose role
    allows only :attr:`Action.CONVERSE`, in its one conversation (:meth:`session`)."""

    action: ClassVar[Action] = Action.READ
    channel_id: ids.ChannelId

    def __post_init__(self) -> None:
        self.check(self.principal, self.role, self.channel_id, tenant=self.ctx.tenant_id)

    @classmethod
    def check(cls, principal: Principal, role: Role, channel: str, *, tenant: str) -> None:
        """Refuse unless ``role`` allows the action (a visitor's: on its own channel); run
        before the scope opens, and again when the proof is made."""
        bound = principal.conversation
        require(role, cls.action if bound is None else Action.CONVERSE, tenant=tenant)
        if bound is not None and bound.channel_id != channel:
            raise VisitorScope(
                f"no conversation on channel {channel!r} for this credential",
                details={"channel_id": channel},
            )

    @property
    def visitor(self) -> Conversation | None:
        """The visitor's conversation, or None for a team member."""
        return self.principal.conversation

    @overload
    def session(self, asked: str) -> ids.SessionId: ...

    @overload
    def session(self, asked: None) -> ids.SessionId | None: ...

    def session(self, asked: str | None) -> ids.SessionId | None:
        """The session asked for, if the caller may act on it: a visitor only its own (None
        means its own too); any other is answered like a missing one."""
        bound = self.principal.conversation
        if bound is None:
            return None if asked is None else ids.session_id(asked)
        if asked is not None and ids.session_id(asked) != bound.session_id:
            raise VisitorScope(
                f"no session {ids.show(asked)} on channel {self.channel_id!r}",
                details={"channel_id": self.channel_id, "session_id": asked},
            )
        return ids.SessionId(bound.session_id)

    def user(self, asked: str | None) -> str:
        """The user the message is from: a visitor speaks only as its own user."""
        bound = self.principal.conversation
        if bound is None:
            if asked is None:
                raise UserRequired("user_id is required", details={"field": "user_id"})
            return asked
        if asked is not None and asked != bound.user_id:
            raise VisitorUser(
                "a visitor credential speaks only as its own user_id",
                details={"user_id": asked},
            )
        return bound.user_id


@dataclass(frozen=True, slots=True)
class ConversationWriteAccess(ConversationAccess):
    action: ClassVar[Action] = Action.WRITE
