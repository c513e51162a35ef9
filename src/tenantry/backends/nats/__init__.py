"""NATS JetStream backends: the shared stream with per-tenant consumers, or a stream per tenant."""
