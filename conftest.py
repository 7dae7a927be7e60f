"""Fixtures for every suite: real NATS, real databases (SQLite or PostgreSQL), services in-process."""
pytest_plugins = ["servicekit.testing", "tests.in_process"]
