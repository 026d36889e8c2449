"""One chat completion against an OpenAI-compatible server, with structured output and plain-words errors.

Servers differ in structured output: OpenAI, Groq, Gemini and vLLM take `response_format: json_schema`,
some only JSON mode (`json_object`), some neither. Each is tried in that order; what worked is remembered
per server and model for this process, so the downgrade costs one extra request, once.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import openai
from openai import AsyncOpenAI
from pydantic import ValidationError

from nexa.bot.llm.models import LLMConfig
from nexa.bot.llm.prompt import ANSWER_SCHEMA
from nexa.bot.llm.schemas import ModelAnswer, StructuredOutput
from nexa.runtime import Runtime

_OUTPUT_MODES: tuple[StructuredOutput, ...] = ("json_schema", "json_object", "text")
_RESPONSE_FORMATS: dict[StructuredOutput, dict[str, Any] | None] = {
    "json_schema": {"type": "json_schema", "json_schema": {"name": "bot_turn", "schema": ANSWER_SCHEMA, "strict": False}},
    "json_object": {"type": "json_object"},
    "text": None,
}
# Servers without the API key requirement (Ollama, vLLM) still need a value for the SDK.
_NO_KEY = "not-needed"


@dataclass(frozen=True)
class TokenUsage:
    prompt: int
    completion: int
    total: int


@dataclass(frozen=True)
class Completion:
    answer: ModelAnswer
    usage: TokenUsage
    structured_output: StructuredOutput


class LLMCallFailed(Exception):
    """The call gave no usable answer; the message says why in plain words. `usage` is set when the server
    answered (and billed) but the answer was unusable."""

    def __init__(self, message: str, usage: TokenUsage | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


async def complete(runtime: Runtime, config: LLMConfig, api_key: str | None, messages: list[dict[str, str]]) -> Completion:
    client = AsyncOpenAI(
        base_url=config.base_url, api_key=api_key or _NO_KEY, http_client=runtime.http,
        timeout=config.timeout_seconds, max_retries=0,
    )
    try:
        async with asyncio.timeout(config.timeout_seconds):
            return await _complete_structured(runtime, client, config, messages)
    except (TimeoutError, openai.APITimeoutError) as exc:
        raise LLMCallFailed(f"No answer from {config.base_url} within {config.timeout_seconds:g} s") from exc
    except openai.APIConnectionError as exc:
        raise LLMCallFailed(f"Could not connect to {config.base_url}: {exc.__cause__ or exc}") from exc
    except openai.APIStatusError as exc:
        raise LLMCallFailed(_status_problem(config, exc)) from exc
    except openai.OpenAIError as exc:
        raise LLMCallFailed(f"The call to {config.base_url} failed: {exc}") from exc


async def _complete_structured(
    runtime: Runtime, client: AsyncOpenAI, config: LLMConfig, messages: list[dict[str, str]]
) -> Completion:
    remembered: dict[tuple[str, str], StructuredOutput] = runtime.extras.setdefault("llm_output_modes", {})
    server = (config.base_url, config.model)
    *fallible, last = _OUTPUT_MODES[_OUTPUT_MODES.index(remembered.get(server, "json_schema")):]
    for mode in fallible:
        try:
            response = await _create(client, config, messages, mode)
        except (openai.BadRequestError, openai.UnprocessableEntityError):
            continue  # this server does not take that response_format: try the next
        remembered[server] = mode
        return Completion(answer=_parse_answer(response), usage=_usage(response), structured_output=mode)
    response = await _create(client, config, messages, last)
    remembered[server] = last
    return Completion(answer=_parse_answer(response), usage=_usage(response), structured_output=last)


async def _create(client: AsyncOpenAI, config: LLMConfig, messages: list[dict[str, str]], mode: StructuredOutput) -> Any:
    request: dict[str, Any] = {"model": config.model, "messages": messages, "temperature": config.temperature}
    if (response_format := _RESPONSE_FORMATS[mode]) is not None:
        request["response_format"] = response_format
    return await client.chat.completions.create(**request)


def _usage(response: Any) -> TokenUsage:
    usage = response.usage
    if usage is None:
        return TokenUsage(0, 0, 0)
    prompt, completion = usage.prompt_tokens or 0, usage.completion_tokens or 0
    return TokenUsage(prompt, completion, usage.total_tokens or prompt + completion)


def _parse_answer(response: Any) -> ModelAnswer:
    content = response.choices[0].message.content if response.choices else None
    try:
        return ModelAnswer.model_validate(_json_object_in(content or ""))
    except (ValueError, ValidationError) as exc:
        raise LLMCallFailed(
            f"The model answered, but not with the JSON expected: {(content or '(empty)')[:200]!r}", _usage(response)
        ) from exc


def _json_object_in(text: str) -> Any:
    """The JSON object in `text`, also when a model wraps it in prose or a ```json fence."""
    try:
        return json.loads(text)
    except ValueError:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise
        return json.loads(text[start : end + 1])


def _status_problem(config: LLMConfig, exc: openai.APIStatusError) -> str:
    status = exc.status_code
    if status == 401:
        return f"{config.base_url} refused the API key (HTTP 401)"
    if status == 403:
        return f"{config.base_url} refused access to model {config.model} (HTTP 403)"
    if status == 404:
        return f"{config.base_url} does not know model {config.model}, or the base URL is wrong (HTTP 404)"
    if status == 429:
        retry_after = exc.response.headers.get("retry-after")
        wait = f"; it asks to retry after {retry_after} s" if retry_after else ""
        return f"{config.base_url} is rate limiting or the quota is spent (HTTP 429){wait}"
    return f"{config.base_url} answered HTTP {status}: {_error_message(exc)}"


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)[:300]
    return str(exc.message)[:300]
