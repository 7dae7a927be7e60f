"""Finance HTTP routes: parse, call one service function, respond."""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["finance"])
