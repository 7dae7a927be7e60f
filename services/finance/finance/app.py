"""The finance service's app."""
from __future__ import annotations

from fastapi import FastAPI

from finance.consumers import CONSUMERS
from finance.models import Base
from finance.router import router
from finance.service.receivables import sweep_overdue
from servicekit.app import ServiceSpec, SweeperSpec, create_service_app

SPEC = ServiceSpec(
    name="finance",
    metadata=Base.metadata,
    routers=[router],
    consumers=CONSUMERS,
    sweepers=[SweeperSpec(name="receivables-overdue", run=sweep_overdue, interval=1.0)],  # FIN-10
    description=(
        "Income, rewards, invest-first-equity-later funds, horizontal-fund investments, subsidies, receivables, "
        "financial support and risk compensation (FIN-*)."
    ),
)


def create_app(**overrides) -> FastAPI:
    """Build the finance app (uvicorn: `finance.app:create_app --factory`)."""
    return create_service_app(SPEC, **overrides)
