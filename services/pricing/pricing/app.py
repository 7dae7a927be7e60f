"""The pricing service's app."""
from __future__ import annotations

from fastapi import FastAPI

from pricing.consumers import CONSUMERS
from pricing.deals import prepare_sweep, sweep
from pricing.models import Base
from pricing.router import router
from servicekit.app import ServiceSpec, SweeperSpec, create_service_app

SPEC = ServiceSpec(
    name="pricing",
    metadata=Base.metadata,
    routers=[router],
    consumers=CONSUMERS,
    # Notice end, listing expiry, auction close: within ~1 s of the clock passing them (also applied on reads).
    sweepers=[SweeperSpec(name="due-transitions", run=sweep, interval=1.0, prepare=prepare_sweep)],
    description="Transactions, appraisal, public notice and objections, listings, auctions, challenges (PRC-*).",
)


def create_app(**overrides) -> FastAPI:
    """Build the pricing app (uvicorn: `pricing.app:create_app --factory`)."""
    return create_service_app(SPEC, **overrides)
