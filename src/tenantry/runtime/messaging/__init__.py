"""Messaging: envelopes on tenant-scoped subjects, the bus port, and the ingress of channels.

A user's message is an :class:`~tenantry.runtime.messaging.envelope.Envelope` published on its
channel's ingress subject (``{prefix}.ingress.{env}.{tenant}.{team}.{channel}``); a runner
consumes the tenant environment's ingress, runs the bound flow in the session, and publishes the
replies on the egress subject. Subjects are built only by ``core.names``; the bus backends
(in-process, NATS JetStream) implement :class:`~tenantry.runtime.messaging.ports.Bus`.
"""
