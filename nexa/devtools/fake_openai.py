"""A fake OpenAI-compatible API for tests, benchmarks and local development.

A real HTTP server on 127.0.0.1 (nexa.devtools.servers.serve) speaking OpenAI's wire format, so Nexa's
own HTTP client talks to it exactly as to api.openai.com, Groq, Ollama or vLLM. Point Nexa at
`fake.base_url` (e.g. `NEXA_EMBEDDINGS_BASE_URL`).

Endpoints (add one by writing its handler under "the server" and listing it in `app()`):
- `POST /v1/embeddings` `{"model", "input": str | [str]}` -> `{"object": "list", "data": [{"object":
  "embedding", "index", "embedding": [...]}], "model", "usage"}`. Vectors are deterministic: a hashed
  bag of folded words and of their character trigrams (so "entrega" and "entrgea" stay close), of
  `dimensions` floats. Same text, same vector, in every run.
- `POST /v1/chat/completions` -> OpenAI's chat completion (`choices[0].message.content`, `usage`). The content
  is the next scripted answer (`fake.answer_with(reply=..., intent=..., extracted=...)` for the bot's JSON,
  `fake.answer_raw(text)` for anything else, e.g. broken JSON), else `rule_answer(last user message)`:
  the bot's JSON with an intent from keywords (pt-BR, es, en) and an e-mail and "my name is" name extracted.
  Servers without structured output are played with `fake.json_schema_supported = False` (or
  `json_object_supported`): such a `response_format` gets OpenAI's 400 on `param: response_format`.
  An unknown model (not in `fake.models`) gets 404 `model_not_found`.

Checks `Authorization: Bearer <api_key>` on every call (401 with OpenAI's error body otherwise).

Recording: `fake.requests` (method, path, json of every call); `fake.chat_requests` the chat ones, with
`.messages` and `.system_prompt` shortcuts. Faults: `fake.fail_next(n, status=500)` answers the next n calls
with that status and an OpenAI error body (`status=429, retry_after=3` adds the header); `fake.latency = 2.0`
delays every answer; `fake.reset()` clears records, scripts and faults.

Usage::

    async with FakeOpenAI().running() as fake:
        settings = Settings(..., embeddings_base_url=fake.base_url, embeddings_api_key=fake.api_key)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
import unicodedata
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nexa.devtools.servers import RunningServer, serve

DEFAULT_DIMENSIONS = 256
DEFAULT_CHAT_MODEL = "fake-chat"
_WORD = re.compile(r"[0-9a-z]+")
# (intent, word starts that give it away), checked in order on the folded message.
_INTENT_CUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("human_request", ("human", "atendente", "pessoa", "person", "agent")),
    ("complaint", ("reclam", "complaint", "problem", "pessimo", "terrible", "horrible")),
    ("price_question", ("price", "preco", "precio", "cost", "quanto", "cuanto", "valor")),
    ("schedule", ("agendar", "schedule", "meeting", "reuniao", "reunion", "cita", "demo")),
    ("greeting", ("oi", "ola", "hola", "hello", "hi", "bom dia", "buenos dias", "boa tarde")),
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_NAME = re.compile(r"(?:my name is|meu nome e|me llamo|mi nombre es)\s+([a-z]+)")


def openai_error(status: int, message: str, *, type_: str = "invalid_request_error", code: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": type_, "param": None, "code": code}}, status_code=status)


@dataclass
class RecordedRequest:
    method: str
    path: str
    json: Any

    @property
    def messages(self) -> list[dict[str, Any]]:
        """A chat request's messages."""
        return list((self.json or {}).get("messages") or [])

    @property
    def system_prompt(self) -> str:
        return "\n".join(str(m.get("content")) for m in self.messages if m.get("role") == "system")


@dataclass
class _Fault:
    status: int
    retry_after: int | None


def rule_answer(message: str) -> dict[str, Any]:
    """The bot's JSON the chat fake answers when nothing is scripted."""
    folded = _fold(message)
    intent = next((name for name, cues in _INTENT_CUES if any(re.search(rf"\b{cue}", folded) for cue in cues)), "other")
    extracted: dict[str, Any] = {}
    if email := _EMAIL.search(message):
        extracted["email"] = email.group(0)
    if name := _NAME.search(folded):
        extracted["name"] = name.group(1).title()
    return {"reply": f"Fake answer ({intent}) to: {message}", "intent": intent, "extracted": extracted}


@dataclass
class FakeOpenAI:
    api_key: str = "sk-test-fake"
    dimensions: int = DEFAULT_DIMENSIONS
    models: set[str] = field(default_factory=lambda: {DEFAULT_CHAT_MODEL})
    latency: float = 0.0
    json_schema_supported: bool = True
    json_object_supported: bool = True
    requests: list[RecordedRequest] = field(default_factory=list)
    server: RunningServer | None = None
    _failures: list[_Fault] = field(default_factory=list)
    _answers: list[str] = field(default_factory=list)

    # --- set-up ----------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ending in /v1 (what clients call `base_url`)."""
        assert self.server is not None, "the fake is not running: use `async with fake.running()`"
        return f"{self.server.url}/v1"

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/v1/chat/completions"]

    def fail_next(self, times: int = 1, *, status: int = 500, retry_after: int | None = None) -> None:
        self._failures.extend(_Fault(status, retry_after) for _ in range(times))

    def answer_with(self, reply: str | None = "OK", intent: str = "other", extracted: Mapping[str, Any] | None = None,
                    *, times: int = 1) -> None:
        """Script the next `times` chat answers as the bot's JSON."""
        content = json.dumps({"reply": reply, "intent": intent, "extracted": dict(extracted or {})}, ensure_ascii=False)
        self._answers.extend([content] * times)

    def answer_raw(self, content: str, *, times: int = 1) -> None:
        """Script the next chat answers' content verbatim (prose, fenced JSON, broken JSON...)."""
        self._answers.extend([content] * times)

    def reset(self) -> None:
        self.requests.clear()
        self._failures.clear()
        self._answers.clear()
        self.latency = 0.0
        self.json_schema_supported = self.json_object_supported = True

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FakeOpenAI]:
        async with serve(self.app()) as server:
            self.server = server
            try:
                yield self
            finally:
                self.server = None

    # --- deterministic models --------------------------------------------------------------------------

    def embedding(self, text: str) -> list[float]:
        """A unit vector: hashed counts of the text's folded words and their character trigrams."""
        vector = [0.0] * self.dimensions
        for word in _WORD.findall(_fold(text)):
            features = [(f"w:{word}", 1.0)] + [(f"t:{tri}", 0.5) for tri in _trigrams(word)]
            for feature, weight in features:
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dimensions
                sign = 1.0 if digest[4] & 1 else -1.0
                vector[bucket] += sign * weight
        norm = sum(value * value for value in vector) ** 0.5 or 1.0
        return [value / norm for value in vector]

    # --- the server ------------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
        ])

    async def _checked(self, request: Request) -> tuple[Any, JSONResponse | None]:
        """The request's JSON body, or the error response the real API would give instead."""
        body = await request.json() if await request.body() else None
        self.requests.append(RecordedRequest(request.method, request.url.path, body))
        if self.latency:
            await asyncio.sleep(self.latency)
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return body, openai_error(401, "Incorrect API key provided.", code="invalid_api_key")
        if self._failures:
            return body, _fault_response(self._failures.pop(0))
        return body, None

    async def _embeddings(self, request: Request) -> JSONResponse:
        body, error = await self._checked(request)
        if error is not None:
            return error
        inputs = body.get("input") if isinstance(body, dict) else None
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs or not all(isinstance(item, str) for item in inputs):
            return openai_error(400, "'input' must be a non-empty string or array of strings", code=None)
        data = [{"object": "embedding", "index": i, "embedding": self.embedding(text)} for i, text in enumerate(inputs)]
        tokens = sum(len(text.split()) for text in inputs)
        return JSONResponse(
            {"object": "list", "data": data, "model": body.get("model", ""),
             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        )


    async def _chat_completions(self, request: Request) -> JSONResponse:
        body, error = await self._checked(request)
        if error is not None:
            return error
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not messages:
            return openai_error(400, "'messages' is a required property")
        if body.get("model") not in self.models:
            message = f"The model `{body.get('model')}` does not exist or you do not have access to it."
            return openai_error(404, message, code="model_not_found")
        format_type = (body.get("response_format") or {}).get("type")
        if (format_type == "json_schema" and not self.json_schema_supported) or (
            format_type == "json_object" and not self.json_object_supported
        ):
            return openai_error(400, f"'response_format' of type '{format_type}' is not supported with this model.")
        last_user = next((str(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        content = self._answers.pop(0) if self._answers else json.dumps(rule_answer(last_user), ensure_ascii=False)
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        completion_tokens = len(content.split())
        return JSONResponse({
            "id": "chatcmpl-" + secrets.token_hex(12), "object": "chat.completion", "created": int(time.time()),
            "model": body["model"], "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        })


def _fault_response(fault: _Fault) -> JSONResponse:
    if fault.status == 429:
        response = openai_error(429, "Rate limit reached for requests.", type_="requests", code="rate_limit_exceeded")
    else:
        response = openai_error(fault.status, "The server had an error while processing your request.", type_="server_error")
    if fault.retry_after is not None:
        response.headers["retry-after"] = str(fault.retry_after)
    return response


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _trigrams(word: str) -> list[str]:
    padded = f"#{word}#"
    return [padded[i:i + 3] for i in range(len(padded) - 2)]
