"""Access errors: each kind maps to its HTTP status (401, 403, 400, 404) with a stable code.

Credential failures say as little as possible: a forged, tampered, truncated, unknown-key or
wrong-audience token all get the same :class:`InvalidToken` with the same message, so an answer
never tells a forger which check failed. Only an expired token is told apart (the client should
fetch a new one), and only after its signature verified.
"""

from __future__ import annotations

from tenantry.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated


class MissingToken(Unauthenticated):
    code = "auth.missing_token"

    def __init__(self) -> None:
        super().__init__("send Authorization: Bearer <token or API key>")


class InvalidToken(Unauthenticated):
    code = "auth.invalid_token"

    def __init__(self) -> None:
        super().__init__("the credential is not valid")


class ExpiredToken(Unauthenticated):
    code = "auth.expired_token"

    def __init__(self) -> None:
        super().__init__("the token has expired; request a new one")


class RevokedKey(Unauthenticated):
    code = "auth.revoked_key"

    def __init__(self) -> None:
        super().__init__("the API key has been revoked")


class RevokedToken(Unauthenticated):
    code = "auth.revoked_token"

    def __init__(self) -> None:
        super().__init__("the token has been revoked")


class TenantMismatch(Forbidden):
    """The tenant selected (header or body) is not one the credential may act for."""

    code = "auth.tenant_mismatch"


class TeamMismatch(Forbidden):
    """The team selected is outside the grant (a team-scoped grant acts only for its team)."""

    code = "auth.team_mismatch"


class EnvMismatch(Forbidden):
    """The environment selected is not the one a visitor credential is bound to."""

    code = "auth.env_mismatch"


class VisitorScope(NotFound):
    """What a visitor credential names beyond its one conversation: answered like a missing
    one (another channel, another session)."""

    code = "webchat.conversation_not_found"


class VisitorUser(Forbidden):
    """A visitor's message names another user than the one its credential speaks as."""

    code = "webchat.user_mismatch"


class UserRequired(InvalidInput):
    """A team member's message names no user (a visitor's is its credential's)."""

    code = "webchat.user_required"


class NoGrant(Forbidden):
    code = "auth.no_grant"


class RoleForbidden(Forbidden):
    code = "auth.role_forbidden"


class PlatformAdminRequired(Forbidden):
    code = "auth.platform_admin_required"


class TenantRequired(InvalidInput):
    """A credential valid for several tenants (or a platform admin) must name one."""

    code = "auth.tenant_required"


class TeamRequired(InvalidInput):
    code = "auth.team_required"


class AmbiguousHeader(InvalidInput):
    code = "auth.header_ambiguous"


class InvalidGrant(InvalidInput):
    code = "grant.invalid"


class InvalidPrincipal(InvalidInput):
    code = "principal.invalid"


class ReservedPrincipal(InvalidInput):
    """A subject that names a built-in principal: a token for it would spoof audit actors."""

    code = "principal.reserved"


class InvalidTtl(InvalidInput):
    code = "token.ttl_invalid"


class InvalidTokenId(InvalidInput):
    code = "token.id_invalid"


class InvalidKeyName(InvalidInput):
    code = "api_key.name_invalid"


class TeamNotFound(NotFound):
    code = "team.not_found"


class TokenNotFound(NotFound):
    code = "token.not_found"


class ApiKeyNotFound(NotFound):
    code = "api_key.not_found"


class SigningKeyNotFound(NotFound):
    code = "signing_key.not_found"


class SigningKeyInUse(Conflict):
    code = "signing_key.in_use"
