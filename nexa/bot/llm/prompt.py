"""What the model is told: the system prompt and the conversation in chat-completion roles."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from nexa.bot.llm.models import CUSTOMER_LANGUAGE, LLMConfig
from nexa.bot.llm.schemas import INTENTS
from nexa.contacts.models import Contact
from nexa.conversations.models import Message, MessageType

LEAD_FIELDS = ("name", "company", "email", "phone", "budget", "timeline", "need", "decision_role")
# Enough of each document for the model to answer from it, without one long page crowding out the rest.
_KNOWLEDGE_CHARS = 2500

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reply": {"type": ["string", "null"], "description": "The message to send to the customer"},
        "intent": {"type": "string", "enum": list(INTENTS)},
        "extracted": {
            "type": "object",
            "description": "Lead fields the customer stated; omit what is unknown",
            "properties": {name: {"type": "string"} for name in LEAD_FIELDS},
            "additionalProperties": True,
        },
    },
    "required": ["reply", "intent", "extracted"],
    "additionalProperties": False,
}


class KnowledgeSource(Protocol):
    """What the prompt needs of a knowledge hit (nexa.knowledge's KnowledgeHit)."""

    title: str
    content: str


def system_prompt(
    config: LLMConfig, *, contact: Contact | None, knowledge: Sequence[KnowledgeSource], qualification: Mapping[str, Any]
) -> str:
    language = (
        "Always answer in the language the customer writes in (Portuguese, Spanish, English...)."
        if config.reply_language == CUSTOMER_LANGUAGE
        else f"Always answer in {config.reply_language}."
    )
    parts = [
        config.persona.strip() or "You are the sales assistant of this business, talking with a customer on WhatsApp.",
        config.instructions.strip(),
        language,
        "Never invent prices, conditions or facts that are not in the knowledge below. When you are unsure, "
        "say so and offer to connect the customer with a human.",
        "Keep replies short, like a chat message.",
        f"Customer: {contact.name}" if contact is not None and contact.name else "",
        "Lead qualification so far (JSON): " + json.dumps(dict(qualification), ensure_ascii=False, default=str),
        "Right after your reply the bot itself asks next_question (with its answer options): do not ask it, "
        "and do not ask for fields already in answers." if qualification.get("next_question") else "",
        _knowledge_section(knowledge),
        "Answer with one JSON object and nothing else: "
        '{"reply": "<message to the customer>", "intent": "<' + "|".join(INTENTS) + '>", '
        '"extracted": {<lead fields the customer stated: ' + ", ".join(LEAD_FIELDS) + ">}}.",
    ]
    return "\n\n".join(part for part in parts if part)


def _knowledge_section(knowledge: Sequence[KnowledgeSource]) -> str:
    if not knowledge:
        return "Knowledge: nothing in the knowledge base matches this conversation."
    entries = [f"[{hit.title}]\n{hit.content[:_KNOWLEDGE_CHARS]}" for hit in knowledge]
    return "Knowledge (cite the title in brackets of what you use):\n\n" + "\n\n".join(entries)


def chat_messages(system: str, history: Sequence[Message], limit: int) -> list[dict[str, str]]:
    """The system prompt, then the last `limit` customer and business messages; private notes and
    activity messages are the team's, not the conversation's."""
    turns = [
        {"role": "user" if message.message_type == MessageType.incoming else "assistant", "content": message.content}
        for message in history
        if not message.private and message.message_type != MessageType.activity and message.content
    ]
    return [{"role": "system", "content": system}, *turns[-limit:]]
