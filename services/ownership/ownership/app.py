"""The ownership service's app."""
from __future__ import annotations

from fastapi import FastAPI

from ownership.consumers import CONSUMERS
from ownership.models import Base
from ownership.router import router
from ownership.service import sweep_overdue_patent_changes
from servicekit.app import ServiceSpec, SweeperSpec, create_service_app

SPEC = ServiceSpec(
    name="ownership",
    metadata=Base.metadata,
    routers=[router],
    consumers=CONSUMERS,
    sweepers=[SweeperSpec(name="patent-changes", run=sweep_overdue_patent_changes, interval=1.0)],
    description="Units, achievements and their rights record, empowerment, separate ledger, pool, institutions and technology managers (OWN-*, ORG-*).",
)


def create_app(**overrides) -> FastAPI:
    """Build the ownership app (uvicorn: `ownership.app:create_app --factory`)."""
    return create_service_app(SPEC, **overrides)
