"""Lead qualification: the account's questions, answer validation, and the score (1-10, with reasons)
kept on the contact."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.bot.language import Language, fold, words
from nexa.bot.models import BotConversation, BotSettings
from nexa.bot.repository import BotSettingsRepository
from nexa.bot.schemas import BotConfig, Choice, FieldType, QualificationField
from nexa.bot.texts import localized, text
from nexa.contacts.models import Contact, LeadStatus
from nexa.kit.phone import normalize as normalize_phone


def _choice(value: str, pt: str, es: str, en: str, *synonyms: str) -> dict[str, Any]:
    return {"value": value, "label": {"pt": pt, "es": es, "en": en}, "synonyms": list(synonyms)}


# A B2B-ish sales default: need, budget, timeline, decision role, email. 11 points at most.
DEFAULT_CONFIG = BotConfig.model_validate({
    "fields": [
        {"key": "need", "type": "choice", "question": {
            "pt": "O que você procura?", "es": "¿Qué estás buscando?", "en": "What are you looking for?"},
         "choices": [
             _choice("buy", "Quero comprar", "Quiero comprar", "I want to buy", "comprar", "compra", "buy", "contratar", "hire"),
             _choice("info", "Só informações", "Solo información", "Just information", "informacao", "informacion", "info", "saber mais"),
             _choice("browsing", "Só olhando", "Solo mirando", "Just browsing", "olhando", "curiosidade", "mirando", "browsing", "looking"),
         ],
         "scores": [{"equals": "buy", "points": 2, "reason": "wants to buy: +2"},
                    {"equals": "info", "points": 1, "reason": "wants information: +1"}]},
        {"key": "budget", "type": "choice", "question": {
            "pt": "Qual é o seu orçamento?", "es": "¿Cuál es tu presupuesto?", "en": "What is your budget?"},
         "choices": [
             _choice("under_1k", "Até R$ 1 mil", "Hasta 1 mil", "Up to 1k", "menos de 1", "ate 1", "hasta 1", "under 1", "pouco"),
             _choice("1k_5k", "R$ 1 mil a 5 mil", "De 1 mil a 5 mil", "1k to 5k", "1 a 5", "entre 1", "1-5", "between 1"),
             _choice("over_5k", "Mais de R$ 5 mil", "Más de 5 mil", "Over 5k", "mais de 5", "acima de 5", "mas de 5", "over 5", "more than 5", "10 mil", "10k"),
         ],
         "scores": [{"equals": "over_5k", "points": 3, "reason": "budget > R$ 5k: +3"},
                    {"equals": "1k_5k", "points": 2, "reason": "budget R$ 1k-5k: +2"}]},
        {"key": "timeline", "type": "choice", "question": {
            "pt": "Para quando você precisa?", "es": "¿Para cuándo lo necesitas?", "en": "When do you need it?"},
         "choices": [
             _choice("now", "Agora / esta semana", "Ahora / esta semana", "Now / this week", "agora", "urgente", "ja", "hoje", "ahora", "hoy", "now", "asap", "urgent", "esta semana", "this week"),
             _choice("month", "Este mês", "Este mes", "This month", "mes", "month", "30 dias", "proximas semanas"),
             _choice("later", "Sem pressa", "Sin prisa", "No rush", "depois", "ano que vem", "mas adelante", "later", "next year", "sem pressa", "sin prisa"),
         ],
         "scores": [{"equals": "now", "points": 3, "reason": "buying now: +3"},
                    {"equals": "month", "points": 2, "reason": "buying this month: +2"}]},
        {"key": "role", "type": "choice", "question": {
            "pt": "Você é quem decide a compra?", "es": "¿Eres quien decide la compra?", "en": "Are you the one who decides?"},
         "choices": [
             _choice("decider", "Sim, eu decido", "Sí, yo decido", "Yes, I decide", "sim", "eu decido", "si", "yo decido", "yes", "i do", "dono", "owner"),
             _choice("influencer", "Decido com outros", "Decido con otros", "I decide with others", "junto", "socio", "with others", "together", "em conjunto"),
             _choice("researcher", "Só pesquisando", "Solo investigando", "Just researching", "nao", "no", "pesquisando", "investigando", "researching"),
         ],
         "scores": [{"equals": "decider", "points": 2, "reason": "decision maker: +2"},
                    {"equals": "influencer", "points": 1, "reason": "part of the decision: +1"}]},
        {"key": "email", "type": "email", "required": False, "question": {
            "pt": "Qual é o seu e-mail? (ou \"pular\")", "es": "¿Cuál es tu correo? (o \"saltar\")", "en": "What's your email? (or \"skip\")"},
         "scores": [{"present": True, "points": 1, "reason": "left an email: +1"}]},
    ],
})


async def load_config(session: AsyncSession, account_id: int) -> BotConfig:
    return config_of(await BotSettingsRepository(session, account_id).current())


def config_of(settings: BotSettings | None) -> BotConfig:
    if settings is None or not settings.config:
        return DEFAULT_CONFIG
    return BotConfig.model_validate(settings.config)


async def save_config(session: AsyncSession, account_id: int, config: BotConfig) -> BotConfig:
    settings = await BotSettingsRepository(session, account_id).get_or_create()
    settings.config = config.model_dump(mode="json")
    await session.flush()
    return config


# --- answers ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    value: Any | None  # None: skipped (optional fields only)


@dataclass(frozen=True)
class Invalid:
    hint: str


_NUMBER = re.compile(r"(\d+(?:[.,]\d+)*)\s*(k|mil|thousand)?")


def _number(raw: str) -> float | None:
    found = _NUMBER.search(fold(raw))
    if found is None:
        return None
    digits, multiplier = found.groups()
    # "5.000" and "5,000" are thousands; "2,5" and "2.5" are decimals.
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", digits):
        value = float(re.sub(r"[.,]", "", digits))
    else:
        value = float(digits.replace(",", "."))
    return value * 1000 if multiplier else value


def _choice_answer(raw: str, choices: list[Choice], button_id: str | None) -> str | None:
    values = {c.value for c in choices}
    if button_id in values:
        return button_id
    folded = " ".join(words(raw))
    if folded.isdigit() and 1 <= int(folded) <= len(choices):
        return choices[int(folded) - 1].value
    padded = f" {folded} "
    # Longest phrase wins: "mais de 5" over "5".
    candidates = sorted(
        ((fold(phrase), c.value) for c in choices for phrase in [*c.label.values(), *c.synonyms, c.value]),
        key=lambda pair: len(pair[0]), reverse=True,
    )
    for phrase, value in candidates:
        normalized = " ".join(words(phrase))
        if normalized and f" {normalized} " in padded:
            return value
    # Typos: the closest label or synonym, when it is close enough.
    best = difflib.get_close_matches(folded, [" ".join(words(p)) for p, _ in candidates], n=1, cutoff=0.75)
    if best:
        return next(value for phrase, value in candidates if " ".join(words(phrase)) == best[0])
    return None


def parse_answer(field: QualificationField, raw: str, language: Language, *, button_id: str | None = None) -> Answer | Invalid:
    stripped = raw.strip()
    if not field.required and fold(stripped) in {fold(text("skip_words", lang)) for lang in ("pt", "es", "en")} | {"nao", "no"}:
        return Answer(None)
    if field.type == FieldType.choice:
        value = _choice_answer(stripped, field.choices, button_id)
        return Answer(value) if value is not None else Invalid(text("invalid_choice", language))
    if field.type == FieldType.email:
        candidate = next((w for w in stripped.split() if "@" in w), stripped)
        try:
            return Answer(validate_email(candidate.strip(".,;"), check_deliverability=False).normalized.lower())
        except EmailNotValidError:
            return Invalid(text("invalid_email", language))
    if field.type == FieldType.phone:
        try:
            return Answer(normalize_phone(stripped))
        except ValueError:
            return Invalid(text("invalid_phone", language))
    if field.type == FieldType.number:
        number = _number(stripped)
        return Answer(number) if number is not None else Invalid(text("invalid_number", language))
    return Answer(stripped) if stripped else Invalid(localized(field.question, language))


# --- scoring ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Score:
    score: int  # 1-10
    points: int
    reasons: list[str]


def _rule_applies(rule: Any, value: Any) -> bool:
    if value is None:
        return False
    if rule.present:
        return True
    if rule.equals is not None:
        return str(value) == rule.equals
    if rule.min is None and rule.max is None:
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return (rule.min is None or number >= rule.min) and (rule.max is None or number <= rule.max)


def score_answers(config: BotConfig, answers: Mapping[str, Any]) -> Score:
    """Points per field (the first scoring rule that applies), mapped onto 1-10 against the best possible."""
    points, best, reasons = 0, 0, []
    for field in config.fields:
        best += max((rule.points for rule in field.scores), default=0)
        rule = next((r for r in field.scores if _rule_applies(r, answers.get(field.key))), None)
        if rule is not None:
            points += rule.points
            reasons.append(rule.reason)
    if best <= 0:
        return Score(1, points, reasons)
    return Score(1 + round(9 * min(max(points / best, 0.0), 1.0)), points, reasons)


def next_field(config: BotConfig, state: BotConversation) -> QualificationField | None:
    return next((f for f in config.fields if f.key not in state.answers), None)


def apply_to_contact(contact: Contact, config: BotConfig, state: BotConversation) -> Score:
    """The lead as Nexa and Chatwoot-style consumers read it: columns plus custom attributes."""
    result = score_answers(config, state.answers)
    contact.lead_score = result.score
    contact.lead_score_reasons = result.reasons
    if contact.lead_status == LeadStatus.new and result.score >= config.threshold:
        contact.lead_status = LeadStatus.qualified
    contact.custom_attributes = {
        **contact.custom_attributes,
        **{f"lead_{key}": value for key, value in state.answers.items() if value is not None},
        "lead_score": result.score,
        "lead_status": contact.lead_status.value,
    }
    return result
