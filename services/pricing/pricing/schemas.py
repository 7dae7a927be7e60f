"""Request and response models of the pricing API."""
from __future__ import annotations
