from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from nexa.db.migrations import schema_is_current
from nexa.jobs.metrics import refresh_queue_metrics
from nexa.runtime import Runtime

router = APIRouter(tags=["health"])


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """Liveness: the database answers and its schema is at the latest migration."""
    runtime = _runtime(request)
    try:
        async with runtime.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "error", "problem": "database unreachable"}, status_code=503)
    if not runtime.extras.get("schema_current"):
        runtime.extras["schema_current"] = await schema_is_current(runtime.db)
        if not runtime.extras["schema_current"]:
            return JSONResponse({"status": "error", "problem": "migrations pending: run `nexa db upgrade`"},
                                status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    """Readiness: the database and (when configured) Redis answer."""
    runtime = _runtime(request)
    checks: dict[str, str] = {}
    try:
        async with runtime.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    if runtime.redis is not None:
        try:
            await runtime.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ok" if healthy else "error", "checks": checks}, status_code=200 if healthy else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    # Queue depth is read at scrape time so every process, worker or not, reports it.
    await refresh_queue_metrics(_runtime(request).db)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
