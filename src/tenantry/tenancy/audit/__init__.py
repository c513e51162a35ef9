"""The audit log: every write's record, hash-chained per tenant, with signed checkpoints."""
