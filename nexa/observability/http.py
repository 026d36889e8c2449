"""Request ids, HTTP metrics by route template, and one JSON access-log line per request."""

from __future__ import annotations

import json
import logging
import random
import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nexa.kit.logging import account_id_var, request_id_var
from nexa.observability.prometheus import child

logger = logging.getLogger("nexa.http")

HTTP_REQUESTS = Counter("nexa_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "nexa_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class RequestContextMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware) so streaming and WebSockets pass through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
        # 32 hex digits as uuid4().hex, without its urandom system call: an id to correlate log lines, not a secret.
        request_id = incoming or f"{random.getrandbits(128):032x}"
        token = request_id_var.set(request_id)
        account_token = account_id_var.set(None)
        started = time.perf_counter()
        status = 500

        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Handled here, inside the request's context, so the log line and the body carry its id.
            logger.exception("unhandled error", extra={"route": _route_template(scope)})
            if started_response:
                raise
            await _send_internal_error(send_with_id, request_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            child(HTTP_REQUESTS, scope["method"], route, str(status)).inc()
            child(HTTP_LATENCY, scope["method"], route).observe(elapsed)
            if route not in ("/health", "/metrics"):
                logger.info(
                    "request",
                    extra={"method": scope["method"], "route": route, "status": status,
                           "duration_ms": round(elapsed * 1000, 2)},
                )
            request_id_var.reset(token)
            account_id_var.reset(account_token)


def _route_template(scope: Scope) -> str:
    # The template, not the raw path: one time series per route, whatever the ids.
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


async def _send_internal_error(send: Send, request_id: str) -> None:
    body = json.dumps({"error": "Internal server error", "request_id": request_id}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
