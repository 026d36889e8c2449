from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, HttpUrl, field_validator

from nexa.kit.params import WrappedParams

Intent = Literal["greeting", "price_question", "schedule", "human_request", "complaint", "other"]
INTENTS: tuple[str, ...] = Intent.__args__  # type: ignore[attr-defined]
StructuredOutput = Literal["json_schema", "json_object", "text"]


class LLMConfigUpdate(WrappedParams):
    """PUT body: only the fields sent change. `api_key`: a string sets it, null removes it, absent keeps it."""

    wrapper = "llm"

    enabled: bool | None = None
    base_url: HttpUrl | None = Field(default=None, description="OpenAI-compatible base URL, e.g. https://api.openai.com/v1")
    model: str | None = Field(default=None, min_length=1, max_length=255)
    api_key: str | None = Field(default=None, max_length=4096, description="Write-only: never returned")
    persona: str | None = Field(default=None, max_length=4000)
    instructions: str | None = Field(default=None, max_length=20000)
    reply_language: str | None = Field(
        default=None, min_length=2, max_length=16,
        description='"customer" (answer in the language the customer writes in) or a fixed language, e.g. "pt-BR"',
    )
    max_history_messages: int | None = Field(default=None, ge=1, le=100)
    temperature: float | None = Field(default=None, ge=0, le=2)
    timeout_seconds: float | None = Field(default=None, gt=0, le=120)
    daily_token_budget: int | None = Field(default=None, ge=0, description="Tokens per UTC day; null: no limit")
    breaker_failure_threshold: int | None = Field(default=None, ge=1, le=100)
    breaker_open_seconds: int | None = Field(default=None, ge=1, le=86400)

    @field_validator("base_url", mode="after")
    @classmethod
    def _http_only(cls, value: HttpUrl | None) -> HttpUrl | None:
        if value is not None and value.scheme not in ("http", "https"):
            raise ValueError("base_url must be http or https")
        return value


class LLMConfigOut(BaseModel):
    configured: bool = Field(description="Enabled, with a base URL and a model: the bot uses it")
    enabled: bool
    base_url: str
    model: str
    api_key_set: bool
    persona: str
    instructions: str
    reply_language: str
    max_history_messages: int
    temperature: float
    timeout_seconds: float
    daily_token_budget: int | None
    breaker_failure_threshold: int
    breaker_open_seconds: int
    tokens_used_today: int
    circuit: Literal["closed", "open", "half_open"] = Field(
        description="open: recent calls failed, the bot is doing without the LLM until breaker_open_seconds pass"
    )


class LLMUsageDay(BaseModel):
    day: date
    calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class LLMUsageConversation(BaseModel):
    conversation_id: int = Field(description="The conversation's display id, as in every URL")
    calls: int
    total_tokens: int


class LLMUsageOut(BaseModel):
    days: list[LLMUsageDay] = Field(description="Per UTC day, newest first; days without calls are left out")
    conversations: list[LLMUsageConversation] = Field(description="The conversations that spent most in the period")


class LLMTestRequest(BaseModel):
    message: str = Field(default="Hello! How much does it cost?", min_length=1, max_length=2000)


class LLMTestResult(BaseModel):
    ok: bool
    message: str = Field(description="What happened, in plain words")
    reply: str | None = None
    intent: Intent | None = None
    extracted: dict[str, Any] = Field(default_factory=dict)
    tokens: int = 0
    latency_ms: int
    structured_output: StructuredOutput | None = Field(
        default=None, description="How the server gave structured output: JSON schema, JSON mode, or plain text"
    )


class ModelAnswer(BaseModel):
    """What the model must answer (the JSON schema sent to it is this model's)."""

    reply: str | None = Field(description="The message to send to the customer, or null to stay silent")
    intent: Intent
    extracted: dict[str, Any] = Field(
        default_factory=dict,
        description="Lead fields stated in the conversation: name, company, email, phone, budget, timeline, need, decision_role",
    )

    @field_validator("intent", mode="before")
    @classmethod
    def _unknown_intent_is_other(cls, value: Any) -> Any:
        return value if value in INTENTS else "other"

    @field_validator("extracted", mode="before")
    @classmethod
    def _drop_empty(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return {}
        return {str(k): v for k, v in value.items() if v not in (None, "", [], {})}
