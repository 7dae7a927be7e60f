"""Webhooks: signed HTTP deliveries of the event stream to systems that cannot speak NATS."""
