"""Shared contracts: the event envelope, subjects and payload schemas (pydantic only)."""
