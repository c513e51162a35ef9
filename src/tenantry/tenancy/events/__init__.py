"""Tenancy events: CloudEvents written to a transactional outbox, published on the bus."""
