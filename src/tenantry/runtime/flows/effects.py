"""The nodes with side effects outside Tenantry: ``call`` (HTTP) and ``llm`` (an
OpenAI-compatible chat completion). Both connect only through the egress guard, and both send
an ``Idempotency-Key`` derived from the message id and the node, so a redelivered message
repeats the same request rather than a new one."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx

from tenantry.core.errors import NotFound
from tenantry.runtime.flows import schemas, templates
from tenantry.runtime.flows.egress import EgressGuard
from tenantry.runtime.flows.errors import AiTokensRefused, CallFailed, EgressRefused
from tenantry.runtime.flows.ports import TokenMeter
from tenantry.runtime.teams import TeamSecrets

MAX_RESPONSE: Final = 1024 * 1024
MAX_KEPT: Final = 64 * 1024  # bytes of a response a flow may keep in its session


def idempotency_key(message_id: str, node_id: str) -> str:
    """The key of one node's side effect for one message (stable across redeliveries)."""
    key = f"flow:{message_id}:{node_id}"
    return key if len(key) <= 128 else "flow:" + hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Effects:
    guard: EgressGuard
    tokens: TokenMeter
    transport: httpx.AsyncBaseTransport | None = None

    async def call(
        self,
        config: schemas.Call,
        context: Mapping[str, Any],
        *,
        secrets: TeamSecrets,
        key: str,
    ) -> dict[str, Any]:
        """The response as ``{ok, status, json|text}``; a refusal or failure is ``ok: false``
        with an ``error`` (the flow decides what to say), never an exception."""
        try:
            headers = {name: templates.render(v, context) for name, v in config.headers.items()}
            if config.secret is not None:
                value = await _secret(secrets, config.secret)
                headers[config.secret_header] = config.secret_format.replace("{secret}", value)
            body = _rendered(config.body, context)
            url = templates.render(config.url, context)
            response = await self._send(
                config.method, url, headers=headers, body=body, key=key, seconds=config.timeout
            )
        except (EgressRefused, CallFailed) as error:
            return {"ok": False, "status": 0, "error": error.message}
        return response

    async def llm(
        self,
        config: schemas.Llm,
        context: Mapping[str, Any],
        *,
        tenant_id: str,
        secrets: TeamSecrets,
        key: str,
    ) -> str | None:
        """The completion's text, its tokens charged to the tenant; None when refused (the AI
        token cap) or failed."""
        remaining = await self.tokens.remaining(tenant_id)
        if remaining <= 0:
            return None
        messages = [{"role": "user", "content": templates.render(config.prompt, context)}]
        if config.system is not None:
            messages.insert(
                0, {"role": "system", "content": templates.render(config.system, context)}
            )
        try:
            secret = await _secret(secrets, config.api_key_secret)
        except CallFailed:
            return None
        base = templates.render(config.base_url, context).rstrip("/")
        payload = {
            "model": config.model,
            "messages": messages,
            "max_tokens": min(config.max_tokens, remaining),
        }
        try:
            answer = await self._send(
                "POST",
                f"{base}/chat/completions",
                headers={"Authorization": f"Bearer {secret}"},
                body=payload,
                key=key,
                seconds=config.timeout,
            )
            text, used = _completion(answer)
        except (EgressRefused, CallFailed):
            return None
        return text if await self._charged(tenant_id, used, key=key) else None

    async def _charged(self, tenant_id: str, used: int, *, key: str) -> bool:
        """Charge ``used`` tokens; past the cap, charge what is left instead (the counter
        reaches the cap, so the next call is refused before it is sent) and say False."""
        try:
            await self.tokens.charge(tenant_id, used, key=key)
        except AiTokensRefused:
            left = await self.tokens.remaining(tenant_id)
            if left > 0:
                with contextlib.suppress(AiTokensRefused):
                    await self.tokens.charge(tenant_id, left, key=key)
            return False
        return True

    async def _send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: Any,
        key: str,
        seconds: float,
    ) -> dict[str, Any]:
        pinned = await self.guard.pin(url)  # before any connection
        headers = {**headers, **pinned.headers, "Idempotency-Key": key}
        content = None if body is None else json.dumps(body).encode()
        if content is not None:
            headers["Content-Type"] = "application/json"
        async with httpx.AsyncClient(
            transport=self.transport, trust_env=False, follow_redirects=False, timeout=seconds
        ) as client:
            request = client.build_request(
                method, pinned.url, headers=headers, content=content, extensions=pinned.extensions
            )
            try:
                response = await client.send(request, stream=True)
                try:
                    data = await _read(response)
                finally:
                    await response.aclose()
            except httpx.HTTPError as error:
                raise CallFailed(f"{method} {pinned.host}: {type(error).__name__}") from None
        return _result(response.status_code, data)


async def _secret(secrets: TeamSecrets, name: str) -> str:
    try:
        return (await secrets.get(name)).value.reveal_text()
    except NotFound:
        raise CallFailed(f"no secret {name!r} in the team or the tenant") from None


async def _read(response: httpx.Response) -> bytes:
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) > MAX_RESPONSE:
            raise CallFailed(f"a response over {MAX_RESPONSE} bytes")
    return data


def _result(status: int, data: bytes) -> dict[str, Any]:
    result: dict[str, Any] = {"ok": 200 <= status < 300, "status": status}
    if len(data) > MAX_KEPT:  # the result lands in the session: keep sessions small
        result["error"] = f"a response of {len(data)} bytes, over the {MAX_KEPT} a flow keeps"
        return result
    try:
        result["json"] = json.loads(data) if data else None
    except ValueError:
        result["text"] = data.decode("utf-8", "replace")
    return result


def _completion(answer: Mapping[str, Any]) -> tuple[str, int]:
    if not answer["ok"] or not isinstance(answer.get("json"), dict):
        raise CallFailed(f"the model answered status {answer['status']}")
    try:
        body = answer["json"]
        text = str(body["choices"][0]["message"]["content"])
        usage = body.get("usage") or {}
        used = int(usage.get("total_tokens") or 0) or int(usage.get("prompt_tokens", 0)) + int(
            usage.get("completion_tokens", 0)
        )
    except (KeyError, IndexError, TypeError, ValueError):
        raise CallFailed("the model's answer is not a chat completion") from None
    return text, max(used, 1)


def _rendered(value: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return templates.render(value, context)
    if isinstance(value, Mapping):
        return {str(k): _rendered(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_rendered(v, context) for v in value]
    return value
