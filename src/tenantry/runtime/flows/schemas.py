"""The ``config`` of each node type, as typed schemas (unknown keys are errors)."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Template = Annotated[str, Field(max_length=16 * 1024)]
VarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
SecretRef = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+([_-][a-z0-9]+)*$", max_length=64)]
NodeRef = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+([_-][a-z0-9]+)*$", max_length=64)]
HeaderName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]
MAX_TIMEOUT: Final = 30.0


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reply(_Config):
    message: Template


class Ask(_Config):
    message: Template
    save_as: VarName | None = None  # the answer lands in this session variable


class Set(_Config):
    variables: dict[VarName, Template] = Field(default_factory=dict, max_length=64)
    state: dict[VarName, Template] = Field(default_factory=dict, max_length=64)


class Case(_Config):
    keywords: list[Annotated[str, Field(min_length=1, max_length=256)]] | None = None
    regex: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    next: NodeRef


class Branch(_Config):
    cases: list[Case] = Field(min_length=1, max_length=64)
    default: NodeRef


class Call(_Config):
    url: Template  # rendered: usually from the tenant's settings, ``{{ settings.crm_url }}``
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    headers: dict[HeaderName, Template] = Field(default_factory=dict, max_length=32)
    body: Any = None  # JSON; strings in it are templates
    secret: SecretRef | None = None  # a secret of the team (or tenant), injected by name
    secret_header: HeaderName = "Authorization"  # noqa: S105 (a header name)
    secret_format: Template = "Bearer {secret}"  # noqa: S105 (a format)
    timeout: float = Field(default=10.0, gt=0, le=MAX_TIMEOUT)
    save_as: VarName | None = None  # the response (JSON, else text) as a session variable


class Llm(_Config):
    prompt: Template
    system: Template | None = None
    model: Annotated[str, Field(min_length=1, max_length=128)] = "gpt-4o-mini"
    base_url: Template = "{{ settings.llm_base_url or 'https://api.openai.com/v1' }}"
    api_key_secret: SecretRef = "llm-api-key"  # noqa: S105 (a secret's name)
    max_tokens: int = Field(default=512, ge=1, le=32_768)
    timeout: float = Field(default=30.0, gt=0, le=120.0)
    save_as: VarName | None = None
    reply: bool = True  # send the completion as a reply
    fallback: Template = "Sorry, I cannot answer that right now."  # refused or failed


class Handoff(_Config):
    message: Template | None = None
    to: Annotated[str, Field(max_length=128)] | None = None
    reason: Template | None = None


class End(_Config):
    message: Template | None = None


CONFIGS: Final[dict[str, type[_Config]]] = {
    "reply": Reply,
    "ask": Ask,
    "set": Set,
    "branch": Branch,
    "call": Call,
    "llm": Llm,
    "handoff": Handoff,
    "end": End,
}
STOPS: Final = frozenset({"ask", "handoff", "end"})  # nodes that end a turn
