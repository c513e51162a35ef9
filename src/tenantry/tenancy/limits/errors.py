"""Limit errors: 429 for rate and concurrency, 403 for an exhausted quota, 413 for a write
larger than the quota leaves room for."""

from __future__ import annotations

from tenantry.core.errors import Forbidden, InvalidInput, RateLimited, TooLarge


class RateLimitExceeded(RateLimited):
    code = "rate.limited"


class ConcurrencyExceeded(RateLimited):
    code = "concurrency.limited"


class QuotaExceeded(Forbidden):
    code = "quota.exceeded"


class QuotaTooLarge(TooLarge):
    code = "quota.too_large"


class InvalidMeter(InvalidInput):
    code = "meter.invalid"


class InvalidPeriod(InvalidInput):
    code = "usage.period_invalid"
