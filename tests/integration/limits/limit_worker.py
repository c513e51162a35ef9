"""One process of the shared-limit test: wait for the start time, try N requests, print the
number admitted. ``python -m tests.integration.limits.limit_worker URL TENANT N RATE BURST T0``"""

from __future__ import annotations

import asyncio
import sys
import time

from tenantry.backends.redis.limiter import RedisRateLimiter
from tenantry.tenancy.limits.plans import RateLimit
from tenantry.tenancy.limits.schemas import RouteClass


async def main(url: str, tenant: str, attempts: int, limit: RateLimit, start: float) -> int:
    limiter = RedisRateLimiter(url)
    try:
        await limiter.client.ping()  # connected before the start, so the race is the limit's
        await asyncio.sleep(max(0.0, start - time.time()))
        admitted = 0
        for _ in range(attempts):
            admitted += (await limiter.acquire(tenant, RouteClass.DEFAULT, limit)).allowed
        if not limiter.shared:
            raise SystemExit("fell back to local limiting")
        return admitted
    finally:
        await limiter.aclose()


if __name__ == "__main__":
    url, tenant, attempts, rate, burst, start = sys.argv[1:7]
    limit = RateLimit(float(rate), int(burst))
    sys.stdout.write(f"{asyncio.run(main(url, tenant, int(attempts), limit, float(start)))}\n")
