from __future__ import annotations

import enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nexa.bot.language import LANGUAGES
from nexa.bot.rules.models import BusinessHours, RuleAction, RuleKind
from nexa.kit.params import WrappedParams


class FieldType(enum.StrEnum):
    email = "email"
    phone = "phone"
    number = "number"
    choice = "choice"
    text = "text"


# Choices go out as WhatsApp buttons, whose titles hold 20 characters (the strictest channel limit).
CHOICE_LABEL_MAX = 20


class Choice(BaseModel):
    value: str = Field(min_length=1, max_length=200)
    # Label per language ("pt", "es", "en"); also matched against what the customer types.
    label: dict[str, str] = Field(min_length=1)
    synonyms: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _labels_fit_a_button(self) -> Choice:
        for language, label in self.label.items():
            if not label.strip() or len(label) > CHOICE_LABEL_MAX:
                raise ValueError(f"choice {self.value!r}: the {language} label needs 1 to {CHOICE_LABEL_MAX} characters")
        return self


class ScoreRule(BaseModel):
    """Points for an answer: `equals` a choice value, a number within [min, max], or any answer (`present`)."""

    points: int = Field(ge=-10, le=10)
    reason: str = Field(min_length=1, max_length=200)
    equals: str | None = None
    min: float | None = None
    max: float | None = None
    present: bool = False


class QualificationField(BaseModel):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    type: FieldType
    question: dict[str, str] = Field(min_length=1)  # per language
    choices: list[Choice] = Field(default_factory=list, max_length=10)
    required: bool = True
    scores: list[ScoreRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _choices_for_choice_fields(self) -> QualificationField:
        if self.type == FieldType.choice and not self.choices:
            raise ValueError(f"field {self.key!r}: a choice field needs choices")
        return self


class FollowUps(BaseModel):
    delays_minutes: list[int] = Field(default_factory=lambda: [60, 1380], max_length=10)
    max_count: int = Field(default=2, ge=0, le=10)
    # A WhatsApp template {name, language, processed_params} sent when the 24 h window has closed;
    # without one, follow-ups stop at the window.
    template_params: dict[str, Any] | None = None


class BotConfig(BaseModel):
    """The account's bot: who it is, what it asks, how it scores, when it hands off."""

    model_config = ConfigDict(extra="forbid")

    persona_name: str = Field(default="Nexa", min_length=1, max_length=100)
    languages: list[str] = Field(default_factory=lambda: list(LANGUAGES), min_length=1)
    threshold: int = Field(default=7, ge=1, le=10)
    fields: list[QualificationField] = Field(default_factory=list, max_length=20)
    knowledge_min_score: float = Field(default=0.5, ge=0, le=1)
    unanswered_limit: int = Field(default=2, ge=1, le=10)  # "I don't know" this many times -> a human
    follow_ups: FollowUps = Field(default_factory=FollowUps)

    @model_validator(mode="after")
    def _known_languages(self) -> BotConfig:
        unknown = set(self.languages) - set(LANGUAGES)
        if unknown:
            raise ValueError(f"unknown languages: {', '.join(sorted(unknown))}; known: {', '.join(LANGUAGES)}")
        keys = [f.key for f in self.fields]
        if len(set(keys)) != len(keys):
            raise ValueError("field keys must be unique")
        return self


class BotSettingsOut(BotConfig):
    model_config = ConfigDict(extra="ignore")


# --- rules ------------------------------------------------------------------------------------------------

# Bounded like the BIGINT it is compared with: a larger number is a 422, not a database overflow.
InboxId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class RuleIn(WrappedParams):
    wrapper = "bot_rule"

    name: str = Field(min_length=1, max_length=255)
    kind: RuleKind
    keywords: list[str] = Field(default_factory=list, max_length=200)
    pattern: str | None = Field(default=None, max_length=1000)
    reply: str | None = Field(default=None, max_length=4096)
    action: RuleAction = RuleAction.reply
    continue_flow: bool = False
    priority: int = Field(default=100, ge=0, le=100000)
    inbox_ids: list[InboxId] = Field(default_factory=list)
    business_hours: BusinessHours = BusinessHours.any
    enabled: bool = True


class RuleUpdate(WrappedParams):
    wrapper = "bot_rule"

    name: str | None = Field(default=None, min_length=1, max_length=255)
    kind: RuleKind | None = None
    keywords: list[str] | None = Field(default=None, max_length=200)
    pattern: str | None = Field(default=None, max_length=1000)
    reply: str | None = Field(default=None, max_length=4096)
    action: RuleAction | None = None
    continue_flow: bool | None = None
    priority: int | None = Field(default=None, ge=0, le=100000)
    inbox_ids: list[InboxId] | None = None
    business_hours: BusinessHours | None = None
    enabled: bool | None = None


class RuleOut(BaseModel):
    id: int
    name: str
    kind: str
    keywords: list[str]
    pattern: str | None
    reply: str | None
    action: str
    continue_flow: bool
    priority: int
    inbox_ids: list[int]
    business_hours: str
    enabled: bool
    usage_count: int
    last_used_at: int | None
    created_at: int


class RuleTestIn(BaseModel):
    text: str = Field(min_length=1, max_length=4096)
    inbox_id: int


class RuleTestOut(BaseModel):
    matched: bool
    rule: RuleOut | None
    reason: str | None
    skipped: list[str]


class RulesPayload(BaseModel):
    payload: list[RuleOut]
