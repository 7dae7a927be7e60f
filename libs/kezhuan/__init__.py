"""Kezhuan's process tooling: the embedded NATS server, the launcher (`make run`) and the CLI."""
