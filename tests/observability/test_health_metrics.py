from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from nexa.kit.logging import JsonFormatter
from nexa.runtime import Runtime
from tests.factories import make_member


async def test_health_and_ready_answer_when_the_database_does(client: httpx.AsyncClient) -> None:
    health = await client.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


async def test_ready_reports_an_unreachable_redis(client: httpx.AsyncClient, runtime: Runtime) -> None:
    runtime.redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        ready = await client.get("/ready")
    finally:
        await runtime.redis.aclose()
        runtime.redis = None
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"].startswith("error")


async def test_metrics_are_labelled_by_route_template(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    await client.get(f"/api/v1/accounts/{member.account.id}", headers=member.headers)
    metrics = (await client.get("/metrics")).text
    assert 'route="/api/v1/accounts/{account_id}"' in metrics
    assert f"/api/v1/accounts/{member.account.id}" not in metrics


async def test_request_id_is_echoed_and_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="nexa.http"):
        response = await client.get("/ready", headers={"X-Request-Id": "req-123"})
    assert response.headers["x-request-id"] == "req-123"
    generated = await client.get("/ready")
    assert len(generated.headers["x-request-id"]) == 32

    record = next(r for r in caplog.records if r.getMessage() == "request" and r.__dict__.get("route") == "/ready")
    line = json.loads(JsonFormatter().format(record))
    assert line["event"] == "request" and line["status"] == 200 and line["route"] == "/ready"


async def test_unexpected_errors_are_json_with_the_request_id(app: FastAPI, client: httpx.AsyncClient) -> None:
    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom")

    response = await client.get("/boom", headers={"X-Request-Id": "req-boom"})
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error", "request_id": "req-boom"}


async def test_metrics_report_queue_depth(client: httpx.AsyncClient, runtime: Runtime) -> None:
    from nexa.jobs.enqueue import enqueue

    async with runtime.db.session() as session:
        for _ in range(3):
            await enqueue(session, "metrics.example", {}, queue="metrics_probe")
    metrics = (await client.get("/metrics")).text
    assert 'nexa_jobs_queue_depth{queue="metrics_probe"} 3.0' in metrics
