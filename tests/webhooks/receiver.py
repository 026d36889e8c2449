"""A webhook receiver as a real local HTTP server: records every POST, answers with a chosen status."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nexa.devtools.servers import serve


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    raw: str

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.raw)

    @property
    def event(self) -> str:
        return self.body["event"]

    def signed_with(self, secret: str) -> bool:
        timestamp = self.headers["x-chatwoot-timestamp"]
        expected = hmac.new(secret.encode(), f"{timestamp}.{self.raw}".encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers["x-chatwoot-signature"], f"sha256={expected}")


@dataclass
class Receiver:
    url: str = ""
    status: int = 200
    received: list[Received] = field(default_factory=list)

    def events(self, name: str) -> list[Received]:
        return [r for r in self.received if r.event == name]

    async def _handle(self, request: Request) -> JSONResponse:
        raw = (await request.body()).decode()
        self.received.append(Received(request.url.path, {k.lower(): v for k, v in request.headers.items()}, raw))
        return JSONResponse({"ok": self.status < 400}, status_code=self.status)


@asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/{path:path}", receiver._handle, methods=["POST"])])
    async with serve(app) as server:
        receiver.url = server.url
        yield receiver
