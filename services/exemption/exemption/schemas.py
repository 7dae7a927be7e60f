"""Request and response models of the exemption API."""
from __future__ import annotations
