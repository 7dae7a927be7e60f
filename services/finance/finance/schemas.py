"""Request and response models of the finance API."""
from __future__ import annotations
