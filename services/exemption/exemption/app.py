"""The exemption service's app."""
from __future__ import annotations

from fastapi import FastAPI

from exemption.consumers import CONSUMERS
from exemption.models import Base
from exemption.router import router
from exemption.service import close_expired_review_windows
from servicekit.app import ServiceSpec, SweeperSpec, create_service_app

SPEC = ServiceSpec(
    name="exemption",
    metadata=Base.metadata,
    routers=[router],
    consumers=CONSUMERS,
    sweepers=[SweeperSpec(name="review-windows", run=close_expired_review_windows, interval=1.0)],
    description="Due-diligence exemption determination, from case to provincial joint determination (EXE-*).",
)


def create_app(**overrides) -> FastAPI:
    """Build the exemption app (uvicorn: `exemption.app:create_app --factory`)."""
    return create_service_app(SPEC, **overrides)
