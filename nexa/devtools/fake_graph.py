"""A fake WhatsApp Cloud API (Graph API) for tests, benchmarks and `nexa dev simulate`.

A real HTTP server on 127.0.0.1 (nexa.devtools.servers.serve) speaking Meta's wire format. Point an
inbox at it with `provider_config.api_base_url = fake.api_base_url`; Nexa's own httpx client then talks
to it exactly as it talks to graph.facebook.com.

Business side (what Nexa calls):
- `POST /{version}/{phone_number_id}/messages`: a send (answered with a fresh wamid) or a mark-as-read
  (`status: "read"`, answered `{"success": true}`). Checks `Authorization: Bearer <access_token>` (else 401,
  code 190) and the body's shape like Meta (400 with a Graph error, code 100/131009, for a malformed one).
- `POST /{version}/{phone_number_id}/media`: upload; answers `{"id": ...}`.
- `GET /{version}/{media_id}`: media metadata with a download `url` on this server; `GET` that url (Bearer
  required too) gives the bytes. Add media with `fake.add_media(data, mime_type)`.
- `GET /{version}/{waba_id}/message_templates?limit=&fields=&after=`: the business account's templates, a page
  at a time (`paging.cursors` and, while more remain, `paging.next`), only the asked `fields` (and `id`). Set
  them with `fake.templates = [message_template("pedido", "Olá {{1}}"), ...]` (`fake.templates_per_page = 2` to
  page sooner); an unknown WABA id answers 100.

Recording: `fake.requests` (every request: method, path, headers, json), `fake.sent` (accepted sends as
`SentRecord`: the wamid answered `.id`, the posted `.body`, shortcuts `.to`, `.type`, `.text`),
`fake.read_marks` (`ReadMark`: message id marked read, and whether typing was asked).

Faults: `fake.fail_next(n, status=500)` answers the next n business calls with HTTP `status`;
`fake.fail_next(n, code=131047)` with that Graph error code (title and HTTP status as Meta would);
`fake.fail_template_listing(n, ...)` does the same for template listings only (they have their own faults, so a
background template sync never takes a failure a test meant for a send); `fake.latency = 0.2` delays every
answer; `fake.reset()` clears records and faults.

Customer side (playing the person on WhatsApp): builders return Meta-shaped dicts,
`fake.text_message("Oi", from_="5511999990000")`, `fake.media_message("image", media_id)`,
`fake.message(type, payload)` for any other type, `fake.status(wamid, "delivered")`,
and `fake.webhook(messages=[...], statuses=[...], phone_number_id=None, contacts=None)` wraps them in
one envelope. `await fake.post_webhook(http, url, body)` signs it (X-Hub-Signature-256 with
`app_secret`) and POSTs it; `http` is any httpx.AsyncClient (the ASGI test client, or a real one for a
running server). `await fake.customer_says(http, url, "Oi")` does both for one text.

Receipts: `fake.send_receipts_to(http, url, ("sent", "delivered"))` makes the fake post those statuses,
signed, for every message it accepts from then on (the full loop of a real number), posting one again, as
Meta does, when it gets no answer or a 5xx; `await fake.settle()` waits until they are all answered, and
`fake.receipts_taken` counts those answered with a 2xx, by status.

Use it in a test through the `fake_graph` fixture: `from tests.fixtures.fake_graph import fake_graph` in
your conftest.py (or test module) makes the fixture available; or `async with FakeGraph().running() as fake:`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from nexa.devtools.servers import RunningServer, serve

VERSION = "v25.0"
DEFAULT_PHONE_NUMBER_ID = "106540352242922"
DEFAULT_DISPLAY_NUMBER = "15550783881"
DEFAULT_WABA_ID = "102290129340398"
DEFAULT_CUSTOMER = "5511999990000"

# Meta's titles and usual HTTP status for the codes tests inject.
GRAPH_ERRORS: dict[int, tuple[str, int]] = {
    4: ("Application request limit reached", 400),
    100: ("Invalid parameter", 400),
    131008: ("Required parameter is missing", 400),
    131009: ("Parameter value is not valid", 400),
    131026: ("Message undeliverable", 400),
    131047: ("Re-engagement message", 400),
    131056: ("(Business Account, Consumer Account) pair rate limit hit", 400),
    131057: ("Account in maintenance mode", 400),
    130429: ("Rate limit hit", 400),
    132001: ("Template name does not exist in the translation", 404),
    190: ("Error validating access token", 401),
    368: ("Temporarily blocked for policies violations", 403),
}
_SEND_TYPES = {
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "interactive",
    "template",
    "location",
    "contacts",
    "reaction",
}
_MEDIA_TYPES = {"image", "audio", "video", "document", "sticker"}
# Meta's page size when the caller gives no `limit`.
_TEMPLATE_PAGE_DEFAULT = 25
_RECEIPT_ATTEMPTS = 5


def message_template(
    name: str,
    body: str,
    *,
    language: str = "pt_BR",
    status: str = "APPROVED",
    category: str = "UTILITY",
    header: dict[str, Any] | None = None,
    footer: str | None = None,
    buttons: Sequence[dict[str, Any]] = (),
    id: str | None = None,
) -> dict[str, Any]:
    """One entry of `message_templates.data` as Meta lists it (components in Meta's upper-case types)."""
    components: list[dict[str, Any]] = []
    if header is not None:
        components.append({"type": "HEADER", **header})
    components.append({"type": "BODY", "text": body})
    if footer is not None:
        components.append({"type": "FOOTER", "text": footer})
    if buttons:
        components.append({"type": "BUTTONS", "buttons": list(buttons)})
    return {
        "name": name,
        "language": language,
        "status": status,
        "category": category,
        "components": components,
        "id": id or str(int(hashlib.sha256(f"{name}:{language}".encode()).hexdigest()[:13], 16)),
    }


def graph_error(code: int, details: str | None = None, *, title: str | None = None) -> dict[str, Any]:
    """Meta's error body for `code`."""
    title = title or GRAPH_ERRORS.get(code, ("Error", 400))[0]
    return {
        "error": {
            "message": f"(#{code}) {title}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details or title},
            "fbtrace_id": secrets.token_urlsafe(12),
        }
    }


def sign(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: Any


@dataclass
class SentRecord:
    """A send the fake accepted: `id` is the wamid it answered with, `body` what Nexa posted."""

    id: str
    phone_number_id: str
    body: dict[str, Any]

    @property
    def to(self) -> str:
        return self.body["to"]

    @property
    def type(self) -> str:
        return self.body["type"]

    @property
    def text(self) -> str | None:
        return self.body.get("text", {}).get("body")


@dataclass
class ReadMark:
    message_id: str
    typing: bool


@dataclass
class StoredMedia:
    data: bytes
    mime_type: str


@dataclass
class _Fault:
    status: int
    body: dict[str, Any] | None


@dataclass
class FakeGraph:
    access_token: str = "test-access-token"
    app_secret: str = "test-app-secret"
    verify_token: str = "test-verify-token"
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID
    display_phone_number: str = DEFAULT_DISPLAY_NUMBER
    waba_id: str = DEFAULT_WABA_ID
    latency: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)
    sent: list[SentRecord] = field(default_factory=list)
    read_marks: list[ReadMark] = field(default_factory=list)
    # Receipts posted and answered with a 2xx (stored by the receiver), by status.
    receipts_taken: Counter[str] = field(default_factory=Counter)
    media: dict[str, StoredMedia] = field(default_factory=dict)
    templates: list[dict[str, Any]] = field(default_factory=list)
    # The most templates one page holds whatever `limit` asks (Meta caps it too); lower it to test paging.
    templates_per_page: int = 100
    server: RunningServer | None = None
    _faults: list[_Fault] = field(default_factory=list)
    _template_faults: list[_Fault] = field(default_factory=list)
    _numbers: dict[str, str] = field(default_factory=dict)  # phone_number_id -> display number
    _receipts: tuple[httpx.AsyncClient, str, tuple[str, ...], float] | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _sequence: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self._numbers[self.phone_number_id] = self.display_phone_number

    # --- set-up ----------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self.server is not None, (
            "the fake is not running: use the fake_graph fixture or `async with fake.running()`"
        )
        return self.server.url

    @property
    def api_base_url(self) -> str:
        """What to put in the inbox's provider_config.api_base_url."""
        return f"{self.url}/{VERSION}"

    def add_number(self, phone_number_id: str, display_phone_number: str) -> None:
        """Another business number of the same app (the fake answers 100 for unknown numbers)."""
        self._numbers[phone_number_id] = display_phone_number

    def provider_config(self, phone_number_id: str | None = None) -> dict[str, str]:
        """Chatwoot's provider_config for an inbox on this fake (POST /inboxes `channel.provider_config`)."""
        return {
            "api_key": self.access_token,
            "phone_number_id": phone_number_id or self.phone_number_id,
            "business_account_id": self.waba_id,
            "webhook_verify_token": self.verify_token,
            "app_secret": self.app_secret,
            "api_base_url": self.api_base_url,
        }

    def add_media(self, data: bytes, mime_type: str = "image/jpeg") -> str:
        media_id = str(10**15 + next(self._sequence))
        self.media[media_id] = StoredMedia(data, mime_type)
        return media_id

    def fail_next(
        self,
        times: int = 1,
        *,
        status: int | None = None,
        code: int | None = None,
        details: str | None = None,
    ) -> None:
        """Answer the next `times` business calls with HTTP `status` (default 500) or Graph error `code`."""
        self._faults.extend(_faults(times, status, code, details))

    def fail_template_listing(
        self,
        times: int = 1,
        *,
        status: int | None = None,
        code: int | None = None,
        details: str | None = None,
    ) -> None:
        """Like `fail_next`, for the next `times` message_templates pages only."""
        self._template_faults.extend(_faults(times, status, code, details))

    def send_receipts_to(
        self, http: httpx.AsyncClient, url: str, statuses: Sequence[str] = ("sent", "delivered"), *, after: float = 0.0
    ) -> None:
        """Post these statuses of every accepted send to `url`, the first one `after` seconds after the send is
        answered (Meta's come a moment after its answer; at 0 they race the sender's record of the send)."""
        self._receipts = (http, url, tuple(statuses), after)

    async def settle(self) -> None:
        """Wait until every receipt the fake is posting has been answered."""
        while self._tasks:
            await asyncio.gather(*self._tasks)

    def reset(self) -> None:
        self.requests.clear()
        self.sent.clear()
        self.read_marks.clear()
        self.receipts_taken.clear()
        self._faults.clear()
        self._template_faults.clear()
        self.latency = 0.0
        self._receipts = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FakeGraph]:
        async with serve(self.app()) as server:
            self.server = server
            try:
                yield self
            finally:
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                self.server = None

    # --- the server ------------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/download/{media_id}", self._download, methods=["GET"]),
                Route("/{version}/{number}/messages", self._messages, methods=["POST"]),
                Route("/{version}/{number}/media", self._upload, methods=["POST"]),
                Route("/{version}/{waba_id}/message_templates", self._message_templates, methods=["GET"]),
                Route("/{version}/{media_id}", self._media_info, methods=["GET"]),
            ]
        )

    async def _prologue(
        self, request: Request, payload: Any = None, *, faults: list[_Fault] | None = None
    ) -> Response | None:
        """Record, wait, authenticate and inject faults (`faults`, default the business calls' own); a Response
        means answer with it now."""
        faults = self._faults if faults is None else faults
        self.requests.append(
            RecordedRequest(request.method, request.url.path, dict(request.headers), payload)
        )
        if self.latency:
            await asyncio.sleep(self.latency)
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return JSONResponse(
                graph_error(190, "Invalid OAuth access token - Cannot parse access token"), status_code=401
            )
        if faults:
            fault = faults.pop(0)
            if fault.body is None:
                return JSONResponse(
                    {"error": {"message": "An unknown error occurred", "code": 1, "is_transient": True}},
                    status_code=fault.status,
                )
            return JSONResponse(fault.body, status_code=fault.status)
        return None

    async def _messages(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body())
        except ValueError:
            payload = None
        if (early := await self._prologue(request, payload)) is not None:
            return early
        number = request.path_params["number"]
        if number not in self._numbers:
            return _bad(100, f"Unsupported post request. Object with ID '{number}' does not exist")
        if not isinstance(payload, dict) or payload.get("messaging_product") != "whatsapp":
            return _bad(100, "The parameter messaging_product is required and must be 'whatsapp'")
        if payload.get("status") == "read":
            if not str(payload.get("message_id", "")).startswith("wamid."):
                return _bad(100, "Invalid message_id")
            self.read_marks.append(ReadMark(payload["message_id"], "typing_indicator" in payload))
            return JSONResponse({"success": True})
        problem = _send_problem(payload)
        if problem is not None:
            return _bad(131009 if problem.startswith("value:") else 100, problem.removeprefix("value:"))
        record = SentRecord(id=self._wamid(), phone_number_id=number, body=payload)
        self.sent.append(record)
        if self._receipts is not None:
            self._spawn(self._play_receipts(record))
        to = str(payload["to"]).lstrip("+")
        answer: dict[str, Any] = {"id": record.id}
        if payload["type"] == "template":
            answer["message_status"] = "accepted"
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": payload["to"], "wa_id": to}],
                "messages": [answer],
            }
        )

    async def _upload(self, request: Request) -> Response:
        form = await request.form()
        if (early := await self._prologue(request, {"type": form.get("type")})) is not None:
            return early
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            return _bad(100, "The parameter file is required")
        return JSONResponse(
            {"id": self.add_media(await upload.read(), str(form.get("type") or upload.content_type))}
        )

    async def _media_info(self, request: Request) -> Response:
        if (early := await self._prologue(request)) is not None:
            return early
        media_id = request.path_params["media_id"]
        stored = self.media.get(media_id)
        if stored is None:
            return _bad(100, f"Unsupported get request. Object with ID '{media_id}' does not exist")
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.url}/download/{media_id}?ext={int(time.time())}",
                "mime_type": stored.mime_type,
                "sha256": hashlib.sha256(stored.data).hexdigest(),
                "file_size": str(len(stored.data)),
                "id": media_id,
            }
        )

    async def _message_templates(self, request: Request) -> Response:
        if (
            early := await self._prologue(request, dict(request.query_params), faults=self._template_faults)
        ) is not None:
            return early
        waba_id = request.path_params["waba_id"]
        if waba_id != self.waba_id:
            return _bad(
                100,
                f"Unsupported get request. Object with ID '{waba_id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation",
            )
        query = request.query_params
        try:
            limit = min(int(query.get("limit", _TEMPLATE_PAGE_DEFAULT)), self.templates_per_page)
            start = int(base64.urlsafe_b64decode(query["after"]).decode()) if "after" in query else 0
        except ValueError:
            return _bad(100, "Invalid parameter: limit or after")
        if limit < 1:
            return _bad(100, "Invalid parameter: limit must be positive")
        fields = [name for name in query.get("fields", "").split(",") if name]
        page = [
            {key: value for key, value in template.items() if not fields or key in fields or key == "id"}
            for template in self.templates[start : start + limit]
        ]
        body: dict[str, Any] = {"data": page}
        if page:
            body["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(page))}}
            if start + len(page) < len(self.templates):
                following = dict(query) | {"after": _cursor(start + len(page))}
                body["paging"]["next"] = f"{self.url}{request.url.path}?{urlencode(following)}"
        return JSONResponse(body)

    async def _download(self, request: Request) -> Response:
        if (early := await self._prologue(request)) is not None:
            return early
        stored = self.media.get(request.path_params["media_id"])
        if stored is None:
            return Response(status_code=404)
        return Response(stored.data, media_type=stored.mime_type)

    def _wamid(self) -> str:
        return "wamid.FAKE" + secrets.token_hex(12).upper() + "=="

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _play_receipts(self, record: SentRecord) -> None:
        assert self._receipts is not None
        http, url, statuses, after = self._receipts
        if after:
            await asyncio.sleep(after)
        for status in statuses:
            body = self.webhook(
                statuses=[self.status(record.id, status, recipient=record.to)],
                phone_number_id=record.phone_number_id,
            )
            if await self._post_until_taken(http, url, body):
                self.receipts_taken[status] += 1

    async def _post_until_taken(self, http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> bool:
        """Meta posts a webhook again when the answer is not a 2xx or never comes (a connection the server
        closed while idle, a restart): a few quick tries here, where Meta keeps trying for days. True if
        the last answer was a 2xx."""
        for attempt in range(_RECEIPT_ATTEMPTS):
            try:
                response = await self.post_webhook(http, url, body)
            except httpx.TransportError:
                if attempt + 1 == _RECEIPT_ATTEMPTS:
                    raise
            else:
                if response.status_code < 500 or attempt + 1 == _RECEIPT_ATTEMPTS:
                    return response.is_success
            await asyncio.sleep(0.05 * 2**attempt)
        return False

    # --- the customer ----------------------------------------------------------------------------------

    def message(
        self,
        type: str,
        payload: Any,
        *,
        from_: str = DEFAULT_CUSTOMER,
        id: str | None = None,
        context: dict[str, Any] | None = None,
        referral: dict[str, Any] | None = None,
        timestamp: int | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """One entry of `value.messages`: `payload` goes under the `type` key (as Meta does)."""
        message: dict[str, Any] = {
            "from": from_,
            "id": id or self._wamid(),
            "timestamp": str(timestamp or int(time.time())),
            "type": type,
        }
        if payload is not None:
            message[type] = payload
        if context is not None:
            message["context"] = context
        if referral is not None:
            message["referral"] = referral
        message.update(extra)
        return message

    def text_message(self, body: str, **kwargs: Any) -> dict[str, Any]:
        return self.message("text", {"body": body}, **kwargs)

    def media_message(
        self,
        type: str,
        media_id: str,
        *,
        caption: str | None = None,
        mime_type: str = "image/jpeg",
        **kwargs: Any,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": media_id,
            "mime_type": mime_type,
            "sha256": hashlib.sha256(media_id.encode()).hexdigest(),
        }
        if caption is not None:
            payload["caption"] = caption
        return self.message(type, payload, **kwargs)

    def status(
        self,
        wamid: str,
        status: str,
        *,
        recipient: str = DEFAULT_CUSTOMER,
        error_code: int | None = None,
        details: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        """One entry of `value.statuses` for a message Nexa sent."""
        entry: dict[str, Any] = {
            "id": wamid,
            "status": status,
            "timestamp": str(timestamp or int(time.time())),
            "recipient_id": recipient,
        }
        if status in ("sent", "delivered", "read"):
            entry["pricing"] = {
                "billable": False,
                "pricing_model": "PMP",
                "type": "free_customer_service",
                "category": "service",
            }
        if error_code is not None:
            title = GRAPH_ERRORS.get(error_code, ("Error", 400))[0]
            entry["errors"] = [
                {
                    "code": error_code,
                    "title": title,
                    "message": title,
                    "error_data": {"details": details or title},
                    "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
                }
            ]
        return entry

    def webhook(
        self,
        *,
        messages: Sequence[dict[str, Any]] = (),
        statuses: Sequence[dict[str, Any]] = (),
        phone_number_id: str | None = None,
        contacts: Sequence[dict[str, Any]] | None = None,
        name: str = "Maria",
    ) -> dict[str, Any]:
        """The envelope Meta POSTs: one entry, one `messages` change. Contacts default to each sender."""
        number = phone_number_id or self.phone_number_id
        value: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": self._numbers.get(number, self.display_phone_number),
                "phone_number_id": number,
            },
        }
        if contacts is None:
            senders = dict.fromkeys(m["from"] for m in messages)
            contacts = [{"profile": {"name": name}, "wa_id": sender} for sender in senders]
        if messages:
            value["contacts"] = list(contacts)
            value["messages"] = list(messages)
        if statuses:
            value["statuses"] = list(statuses)
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": self.waba_id, "changes": [{"field": "messages", "value": value}]}],
        }

    def signed(self, body: dict[str, Any] | bytes) -> tuple[bytes, dict[str, str]]:
        """The raw bytes Meta would send (json.dumps escapes like Meta does) and the headers with the signature."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return raw, {"content-type": "application/json", "x-hub-signature-256": sign(self.app_secret, raw)}

    async def post_webhook(
        self, http: httpx.AsyncClient, url: str, body: dict[str, Any] | bytes
    ) -> httpx.Response:
        raw, headers = self.signed(body)
        return await http.post(url, content=raw, headers=headers)

    async def customer_says(
        self, http: httpx.AsyncClient, url: str, text: str, **kwargs: Any
    ) -> httpx.Response:
        name = kwargs.pop("name", "Maria")
        return await self.post_webhook(
            http, url, self.webhook(messages=[self.text_message(text, **kwargs)], name=name)
        )


def _faults(times: int, status: int | None, code: int | None, details: str | None) -> list[_Fault]:
    body = graph_error(code, details) if code is not None else None
    http_status = status or (GRAPH_ERRORS.get(code, ("", 400))[1] if code is not None else 500)
    return [_Fault(http_status, body) for _ in range(times)]


def _cursor(position: int) -> str:
    """An opaque paging cursor (Meta's are base64 too)."""
    return base64.urlsafe_b64encode(str(position).encode()).decode()


def _bad(code: int, details: str) -> JSONResponse:
    return JSONResponse(graph_error(code, details), status_code=400)


def _send_problem(body: dict[str, Any]) -> str | None:
    """What Meta would refuse in a send body; "value:" marks a bad value (131009) rather than a missing field (100)."""
    kind = body.get("type", "text")
    if not body.get("to"):
        return "The parameter to is required"
    if kind not in _SEND_TYPES:
        return f"value:Unsupported message type {kind!r}"
    part = body.get(kind)
    if not isinstance(part, (dict, list)):
        return f"The parameter {kind} is required"
    if kind == "text":
        text = part.get("body")
        return (
            None
            if isinstance(text, str) and 0 < len(text) <= 4096
            else "value:text.body must be 1 to 4096 characters"
        )
    if kind in _MEDIA_TYPES:
        return None if part.get("link") or part.get("id") else f"{kind}.link or {kind}.id is required"
    if kind == "template":
        return (
            None
            if part.get("name") and isinstance(part.get("language"), dict) and part["language"].get("code")
            else "template.name and template.language.code are required"
        )
    if kind == "interactive":
        return _interactive_problem(part)
    return None


def _interactive_problem(part: dict[str, Any]) -> str | None:
    action = part.get("action") or {}
    if not (part.get("body") or {}).get("text"):
        return "interactive.body.text is required"
    if part.get("type") == "button":
        buttons = action.get("buttons") or []
        titles = [b.get("reply", {}).get("title", "") for b in buttons]
        if (
            not 1 <= len(buttons) <= 3
            or any(not 0 < len(t) <= 20 for t in titles)
            or len(set(titles)) != len(titles)
        ):
            return "value:interactive buttons: 1 to 3, titles 1 to 20 characters and unique"
        return None
    if part.get("type") == "list":
        rows = [row for section in action.get("sections") or [] for row in section.get("rows") or []]
        if (
            not action.get("button")
            or not 1 <= len(rows) <= 10
            or any(len(row.get("title", "")) > 24 for row in rows)
        ):
            return "value:interactive list: a button label, 1 to 10 rows, row titles up to 24 characters"
        return None
    return "value:interactive.type must be button or list"
