"""The tenant's life: its states, the one transition table, the serving rule, and jobs.

``states`` is pure: which state may serve requests, be granted tokens or be reconciled, and
which transitions each state allows. Jobs (``service``, ``runner``) carry out the transitions
as ordered, idempotent, persisted steps (``docs/lifecycle.md``).
"""
