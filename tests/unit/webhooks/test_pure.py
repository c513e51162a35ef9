"""The pure parts of webhooks: filters, URLs checked at add time, the backoff schedule, the
signing headers (verified with the reference library) and what an attempt's answer means."""

from __future__ import annotations

import ipaddress
import itertools
import random
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tenantry.runtime.flows.egress import EgressGuard
from tenantry.tenancy.webhooks import backoff, filters, signing, urls
from tenantry.tenancy.webhooks.attempts import Result, Verdict
from tenantry.tenancy.webhooks.errors import BadFilter, BadUrl

PUBLIC_ONLY = EgressGuard().allowed


@pytest.mark.parametrize(
    ("patterns", "event_type", "expected"),
    [
        (["*"], "tenancy.tenant.created", True),
        (["tenancy.tenant.created"], "tenancy.tenant.created", True),
        (["tenancy.tenant.created"], "tenancy.tenant.deleted", False),
        (["tenancy.tenant.*"], "tenancy.tenant.migration.failed", True),
        (["tenancy.tenant.migration.*"], "tenancy.tenant.suspended", False),
        (["tenancy.tenant.quota.*", "tenancy.tenant.deleted"], "tenancy.tenant.deleted", True),
    ],
)
def test_filters_match_exact_types_and_prefixes(
    patterns: list[str], event_type: str, expected: bool
) -> None:
    assert filters.matches(filters.checked(patterns), event_type) is expected


def test_no_filter_means_every_type_and_duplicates_go() -> None:
    assert filters.checked([]) == ["*"]
    assert filters.checked(["tenancy.tenant.*", "tenancy.tenant.*"]) == ["tenancy.tenant.*"]


@pytest.mark.parametrize("bad", ["tenancy.tenant.exploded", "other.*", "tenancy", "", "*.*"])
def test_a_filter_matching_no_type_is_refused(bad: str) -> None:
    with pytest.raises(BadFilter):
        filters.checked([bad])


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.test/in", "http://hooks.example.test:8080/a?b=c", "https://8.8.8.8/"],
)
def test_good_urls_pass(url: str) -> None:
    assert urls.checked(url, allowed=PUBLIC_ONLY).startswith("http")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.test/",
        "https://u:p@hooks.example.test/",
        "https://hooks.example.test/#x",
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://10.1.2.3/",
        "http://169.254.169.254/",
        "http://[::ffff:127.0.0.1]/",
        "https:///nohost",
        "https://" + "a" * 3000,
        "http://xn--/",
        "http://a:99999/",
        "http:// /",
        "https://exa mple.com/",
        "http://a..b/",
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(BadUrl):
        urls.checked(url, allowed=PUBLIC_ONLY)


def test_a_network_the_platform_allows_passes() -> None:
    allowed = EgressGuard(allow=["127.0.0.0/8"]).allowed
    assert urls.checked("http://127.0.0.1:9/x", allowed=allowed) == "http://127.0.0.1:9/x"
    assert not allowed(ipaddress.ip_address("10.0.0.1"))


def test_backoff_grows_to_a_day_and_spans_days() -> None:
    delays = backoff.schedule(15)
    assert delays[0] == 30.0 and max(delays) == 86_400.0
    assert all(a <= b for a, b in itertools.pairwise(delays))
    assert 3 * 86_400 <= sum(delays) <= 4 * 86_400
    rng = random.Random(7)
    drawn = [backoff.delay(3, rng=rng).total_seconds() for _ in range(100)]
    assert all(90.0 <= d <= 120.0 for d in drawn) and len(set(drawn)) > 1


def test_headers_verify_with_the_reference_library_under_each_secret() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    body = '{"id":"e1","type":"tenancy.tenant.created"}'
    at = datetime.now(UTC)
    headers = signing.headers(
        message_id="e1", body=body, signing=[new, old], sequence=7, tenant="acme", at=at
    )
    assert headers["webhook-sequence"] == "7" and headers["webhook-id"] == "e1"
    assert headers["webhook-timestamp"] == str(int(at.timestamp()))
    for secret in (new, old):
        assert Webhook(secret).verify(body, headers)["id"] == "e1"
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.DELIVERED),
        (204, Verdict.DELIVERED),
        (410, Verdict.GONE),
        (404, Verdict.RETRY),
        (500, Verdict.RETRY),
        (301, Verdict.RETRY),
        (None, Verdict.RETRY),
    ],
)
def test_what_an_answer_means(status: int | None, verdict: Verdict) -> None:
    assert Result(status, 5).verdict is verdict
