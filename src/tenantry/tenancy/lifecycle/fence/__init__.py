"""The fence: how a suspend waits for the requests already in flight in every process.

Each process counts its in-flight tenant requests in memory (:mod:`.inflight`) and beats a
heartbeat row; a suspend raises the tenant's fence and waits until every live process has
drained it (:mod:`.watch`, :mod:`.drain`). ``docs/lifecycle.md`` tells the whole story.
"""
