"""The coachloop API, ``/api/v1/``: each app contributes its router."""

from __future__ import annotations

from ninja import NinjaAPI

from coachloop.core.api import BearerToken, BrowserSession, install_error_envelope
from coachloop.core.api import router as core_router
from coachloop.ingest.api import router as ingest_router
from coachloop.insights.api import router as insights_router
from coachloop.interactions.api import router as interactions_router
from coachloop.metrics.api import router as metrics_router
from coachloop.org.api import router as org_router
from coachloop.quality.api import router as quality_router

api = NinjaAPI(
    title="coachloop API",
    version="1",
    description="Coaching and performance for contact centers. Lists take ?limit=&offset= and "
    "answer {items, count}; errors answer {error: {code, message, details}}.",
    urls_namespace="api-v1",
    auth=[BearerToken(), BrowserSession()],
)
install_error_envelope(api)
api.add_router("/", core_router)
api.add_router("/", org_router)
api.add_router("/", ingest_router)
api.add_router("/", metrics_router)
api.add_router("/", interactions_router)
api.add_router("/", quality_router)
api.add_router("/", insights_router)
