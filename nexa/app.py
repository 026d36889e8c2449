"""create_app(): the FastAPI application, its error handling, and what runs for its lifetime."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import IntegrityError
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from nexa import __version__
from nexa.analytics.endpoints import router as reports_router
from nexa.auth.agent_endpoints import invitations_router
from nexa.auth.agent_endpoints import router as agents_router
from nexa.auth.endpoints import account_router as audit_router
from nexa.auth.endpoints import router as auth_router
from nexa.auth.token_endpoints import router as access_tokens_router
from nexa.bot.endpoints import router as bot_router
from nexa.bot.llm.endpoints import router as bot_llm_router
from nexa.channels.web_widget.endpoints import router as public_client_router
from nexa.channels.media import public_router as media_public_router
from nexa.channels.media import router as media_router
from nexa.channels.webhooks import webhook_route
from nexa.config import Settings, get_settings
from nexa.jobs.scheduler import Scheduler
from nexa.jobs.worker import Worker
from nexa.knowledge.endpoints import router as knowledge_router
from nexa.catalog.endpoints import router as catalog_router
from nexa.kit.errors import NexaError, TooManyRequests
from nexa.kit.lazy_text import Gettext, _
from nexa.observability.endpoints import router as health_router
from nexa.observability.http import RequestContextMiddleware
from nexa.realtime.bus import build_bus
from nexa.realtime.hub import Hub, set_hub
from nexa.realtime.ws import router as realtime_router
from nexa.runtime import Runtime, use_runtime
from nexa.tenancy.endpoints import router as accounts_router
from nexa.tenancy.endpoints import public_router as brand_images_router
from nexa.web.routes import STATIC_DIR
from nexa.web.routes import router as web_router
from nexa.web.app.routes import router as web_app_router
from nexa.web.app.settings import router as web_settings_router
from nexa.web.app.invitations import router as web_invitations_router
from nexa.web.app.i18n import server_gettext, server_text_locale
from nexa.automation.endpoints import router as automation_router
from nexa.canned_responses.endpoints import router as canned_responses_router
from nexa.contacts.endpoints import actions_router as contact_actions_router
from nexa.contacts.endpoints import router as contacts_router
from nexa.conversations.endpoints import router as conversations_router
from nexa.inboxes.endpoints import router as inboxes_router
from nexa.labels.endpoints import router as labels_router
from nexa.teams.endpoints import router as teams_router
from nexa.webhooks.endpoints import router as webhooks_router
from nexa.agent_bots.endpoints import router as agent_bots_router
from nexa.bulk_actions.endpoints import router as bulk_actions_router
from nexa.notifications.endpoints import router as notifications_router

logger = logging.getLogger(__name__)

ROUTERS = (
    health_router,
    auth_router,
    accounts_router,
    brand_images_router,
    audit_router,
    access_tokens_router,
    agents_router,
    invitations_router,
    inboxes_router,
    agent_bots_router,
    webhooks_router,
    contacts_router,
    contact_actions_router,
    conversations_router,
    bulk_actions_router,
    notifications_router,
    media_router,
    media_public_router,
    labels_router,
    teams_router,
    canned_responses_router,
    automation_router,
    reports_router,
    knowledge_router,
    catalog_router,
    bot_llm_router,
    public_client_router,
    web_router,
    web_app_router,
    web_settings_router,
    web_invitations_router,
    realtime_router,
    bot_router,
)


def create_app(
    settings: Settings | None = None, *, runtime: Runtime | None = None, run_worker: bool = False
) -> FastAPI:
    """The app. With `run_worker`, this process also runs the job worker and the scheduler (embedded mode)."""
    settings = settings or (runtime.settings if runtime else get_settings())
    owns_runtime = runtime is None
    runtime = runtime or Runtime.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if owns_runtime:
                stack.push_async_callback(runtime.close)
            else:
                stack.push_async_callback(runtime.close_http)
            await _start_realtime(runtime, stack)
            if run_worker:
                await _start_jobs(runtime, stack)
            yield

    webhooks = webhook_route()
    app = _NexaApp(
        webhooks,
        title="Nexa API",
        version=__version__,
        description="Chatwoot-compatible Application API of Nexa, plus Nexa's own resources.",
        lifespan=lifespan,
        # Matched first when a webhook request goes the app's way (see _NexaApp); the routers below are
        # tried in order after it.
        routes=[webhooks],
    )
    bind_runtime(app, runtime)
    # Token APIs and the widget's public API are called from other origins (sites embedding the widget,
    # browser-based integrations). No credentials are allowed cross-origin, so the session cookie is never
    # sent from another site and CSRF protection is unaffected.
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"], max_age=600)
    app.add_middleware(RequestContextMiddleware)
    _install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


class _NexaApp(FastAPI):
    """FastAPI, with provider webhooks served ahead of its middleware (decision 0009).

    A webhook needs the request's context (id, metrics, access log) and `NexaError`'s rendering; not
    FastAPI's telemetry hooks, body limit and exception middleware, nor CORS (providers send no `Origin`)
    or the router's matching, which together cost more than the request context. A webhook request with
    an `Origin` header, or with another method than GET and POST, still goes the app's whole way."""

    def __init__(self, webhooks: Route, **options: Any) -> None:
        super().__init__(**options)
        self._webhooks = webhooks
        self._webhook_stack = RequestContextMiddleware(self._serve_webhook)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(name == b"origin" for name, _value in scope["headers"]):
            match, child_scope = self._webhooks.matches(scope)
            if match is Match.FULL:
                scope.update(child_scope, app=self)
                await self._webhook_stack(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    async def _serve_webhook(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._webhooks.handle(scope, receive, send)
        except NexaError as exc:
            response = await self.exception_handlers[NexaError](Request(scope, receive), exc)
            await response(scope, receive, send)


def bind_runtime(app: FastAPI, runtime: Runtime) -> None:
    """Serve `app`'s requests with `runtime`; jobs and payload serializers (signed media links) in this
    process reach it too."""
    app.state.runtime = runtime
    use_runtime(runtime)


async def _start_realtime(runtime: Runtime, stack: AsyncExitStack) -> None:
    hub = Hub(build_bus(runtime.settings), queue_size=runtime.settings.realtime_client_queue_size)
    await hub.start()
    set_hub(hub)
    runtime.extras["hub"] = hub

    async def stop() -> None:
        set_hub(None)
        await hub.stop()

    stack.push_async_callback(stop)


async def _start_jobs(runtime: Runtime, stack: AsyncExitStack) -> None:
    worker = Worker(runtime.db, runtime.settings)
    scheduler = Scheduler(runtime.db, runtime.settings)
    await worker.start()
    stack.push_async_callback(worker.stop)
    await scheduler.start()
    stack.push_async_callback(scheduler.stop)


def _error_gettext(request: Request) -> Gettext:
    """Error texts speak the signed-in user's language, else the browser's, else English (API clients)."""
    user_locale = getattr(request.state, "user_locale", None)
    return server_gettext(server_text_locale(user_locale, request.headers.get("accept-language")))


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NexaError)
    async def nexa_error(request: Request, exc: NexaError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
        return JSONResponse(exc.body(_error_gettext(request)), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(part) for part in error["loc"][1:]) or str(error["loc"][0]), "message": error["msg"]}
            for error in exc.errors()
        ]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return JSONResponse(
            {"error": summary, "message": summary, "attributes": [p["field"] for p in problems], "errors": problems},
            status_code=422,
        )

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        # A constraint caught what validation did not (usually a concurrent duplicate): the client's problem.
        logger.warning("integrity error", extra={"detail": str(exc.orig)[:500]})
        conflict = _("The request conflicts with existing data")
        return JSONResponse({"error": conflict.render(_error_gettext(request))}, status_code=409)
