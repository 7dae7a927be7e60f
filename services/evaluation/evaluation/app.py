"""The evaluation service's app: a read model fed only by events (EVA-2)."""
from __future__ import annotations

from fastapi import FastAPI

from evaluation.consumers import CONSUMERS
from evaluation.models import Base
from evaluation.rebuilds import RebuildWorker
from evaluation.router import router
from servicekit.app import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="evaluation",
    metadata=Base.metadata,
    routers=[router],
    consumers=CONSUMERS,
    workers=[lambda runtime: RebuildWorker(runtime).run()],
    description="Transformation performance (M 十三): indicators per unit, department, researcher and "
    "technology manager, the province's table, exports and charts, rebuilt from the event stream (EVA-*).",
)


def create_app(**overrides) -> FastAPI:
    """Build the evaluation app (uvicorn: `evaluation.app:create_app --factory`)."""
    return create_service_app(SPEC, **overrides)
