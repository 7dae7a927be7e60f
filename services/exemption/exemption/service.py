"""Exemption use cases: load → domain decides → save → outbox, in the caller's transaction."""
from __future__ import annotations
