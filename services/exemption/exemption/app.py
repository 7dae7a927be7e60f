"""The exemption service's app."""
from __future__ import annotations

from fastapi import FastAPI

from exemption.consumers import CONSUMERS
from exemption.models import Base
from exemption.router import router
from servicekit.app import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="exemption",
    metadata=Base.metadata,
    routers=[router],
    consumers=CONSUMERS,
    description="Due-diligence exemption determination, from case to provincial joint determination (EXE-*).",
)


def create_app(**overrides) -> FastAPI:
    """Build the exemption app (uvicorn: `exemption.app:create_app --factory`)."""
    return create_service_app(SPEC, **overrides)
