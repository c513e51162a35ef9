"""Per-tenant limits and metering (DESIGN.md section 6, rule 6).

Plans. A bundle may define ``plans:`` (plan name -> limits) and each tenant ``limits:``
(overrides); the tenant's ``plan`` (default ``standard``) selects one. Every key is optional:
the built-in ``standard`` plan (``plans.BUILTIN_STANDARD``) fills whatever a plan leaves out,
and is the whole plan of a tenant whose plan the bundle does not define::

    plans:
      pro:
        rate: 200                 # requests/second, sustained (standard: 50)
        burst: 400                # requests at once (standard: 100)
        authoring_rate: 20        # the stricter route class (standard: 5, burst 10);
        authoring_burst: 40       #   never looser than rate/burst
        max_in_flight: 128        # concurrent requests per API process (standard: 64)
        max_flow_executions: 32   # concurrent flow runs, across workers (standard: 16)
        max_connections: 64       # long-polls and event streams per API process (standard: 32)
        max_token_ttl: 7d         # the longest a token may live (standard: 24h; at most 30d)
        storage:                  # bytes (or "10GiB"), item counts, optional per-item size
          sessions: {bytes: 5GiB, count: 500000}      # standard: 1 GiB, 100,000
          objects: {bytes: 50GiB, item_bytes: 1GiB}   # standard: 10 GiB, 100,000
          state: {bytes: 1GiB}                        # standard: 256 MiB, 100,000
          secrets: {count: 5000}                      # standard: 16 MiB, 1,000
        ai_tokens: {cap: 5000000, period: month}      # standard: 1,000,000 a month
    tenants:
      acme:
        plan: pro
        limits: {burst: 1000}

The registry stores each tenant's plan definition merged with its overrides in the tenant's
spec; :class:`catalog.LimitsCatalog` resolves a tenant's effective limits from it and caches
them per process for 5 s (re-resolving only when the tenant's generation moved).

Rate limits: GCRA (``gcra.decide``) per tenant and route class, in process
(``local.LocalRateLimiter``) or shared by every API process through Redis
(``backends.redis.limiter.RedisRateLimiter``: one Lua round trip on ``limit:{tenant}:{class}``).
While Redis is unreachable, limits are kept in each process (a warning once per outage) —
never dropped — so N processes admit up to N times a tenant's rate until Redis answers.

Concurrency: in-flight requests and flow executions are counted per process
(``concurrency.ConcurrencyLimiter``); a full tenant gets 429 ``concurrency.limited`` at once.

Storage quotas: ``quotas.Quotas.reserve`` before a write, ``release`` after a delete; the
guarded counters cannot be passed by concurrent writers. 413 ``quota.too_large`` when one write
is larger than the room left (or than a per-item size), 403 ``quota.exceeded`` otherwise.

Metering: ``meters.Meters`` records ``{tenant_id, resource, amount, ts}`` idempotently per
tenant and key, sums them per day or hour, and charges ``ai_tokens`` within the cap;
``counting.RequestMeter`` meters admitted requests in batches.
"""
