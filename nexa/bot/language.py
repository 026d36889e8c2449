"""Text as the bot compares it, the customer's language, and the small lexicons the bot decides with
when no LLM is configured (opt-out, human request, negative sentiment, questions)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Literal

Language = Literal["pt", "es", "en"]
LANGUAGES: tuple[Language, ...] = ("pt", "es", "en")

_WORD = re.compile(r"[a-z0-9@._+-]+")


def fold(text: str) -> str:
    """Lower case, accents removed, whitespace collapsed: 'Olá,  TUDO bem?' -> 'ola, tudo bem?'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.split())


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def _phrases(*items: str) -> tuple[str, ...]:
    return tuple(fold(item) for item in items)


def contains_phrase(folded: str, phrases: Iterable[str]) -> str | None:
    """The first phrase found in `folded` on word boundaries."""
    padded = f" {' '.join(_WORD.findall(folded))} "
    for phrase in phrases:
        if f" {phrase} " in padded:
            return phrase
    return None


_LANGUAGE_HINTS: dict[Language, frozenset[str]] = {
    "pt": frozenset(
        "oi ola obrigado obrigada voce vc quero preciso sim nao tudo bem bom dia boa tarde noite tchau ate "
        "atendente falar com orcamento quanto custa preco empresa meu minha para pra estou tenho".split()
    ),
    "es": frozenset(
        "hola gracias usted quiero necesito si no todo bien buenos buenas dias tardes noches adios hasta "
        "hablar con presupuesto cuanto cuesta precio empresa mi para estoy tengo muchas".split()
    ),
    "en": frozenset(
        "hi hello hey thanks thank you want need yes no good morning afternoon evening bye talk to budget "
        "how much price company my for i am have please".split()
    ),
}


def detect_language(text: str, default: Language) -> Language:
    """The language with the most hint words in `text`; `default` on a tie (short or neutral messages)."""
    found = words(text)
    hits = {language: sum(word in hints for word in found) for language, hints in _LANGUAGE_HINTS.items()}
    if max(hits.values()) == 0:
        return default
    return max(LANGUAGES, key=lambda language: (hits[language], language == default))


# A whole message that is one of these is an opt-out; inside a longer message only the long phrases count,
# so "stop by the shop" or "não pare" in a sentence are not read as opting out.
OPT_OUT_WORDS = frozenset(
    _phrases("pare", "parar", "sair", "stop", "unsubscribe", "baja", "cancelar", "descadastrar", "remover")
)
OPT_OUT_PHRASES = _phrases(
    "nao quero mais receber", "me tire da lista", "me remova da lista", "descadastrar", "parem de me mandar",
    "darme de baja", "dar de baja", "no quiero recibir", "no me envien mas", "stop sending", "unsubscribe",
    "remove me from", "opt out",
)


def is_opt_out(text: str) -> bool:
    folded = " ".join(words(text))
    return folded in OPT_OUT_WORDS or contains_phrase(folded, OPT_OUT_PHRASES) is not None


HUMAN_REQUEST_PHRASES = _phrases(
    "atendente", "atendimento humano", "falar com humano", "falar com um humano", "falar com uma pessoa",
    "falar com alguem", "pessoa de verdade", "pessoa real", "falar com vendedor", "falar com um vendedor",
    "falar com o vendedor", "falar com consultor", "humano", "hablar con un humano", "hablar con una persona",
    "hablar con alguien", "hablar con un agente", "hablar con un asesor", "asesor", "persona real", "operador",
    "human", "a person", "real person", "agent", "representative", "talk to someone", "speak to someone",
    "talk to a human", "speak to a human", "talk to sales", "salesperson",
)
# Button ids the bot offers for "talk to a human" (and that agents' own buttons may use).
HUMAN_REQUEST_BUTTON_IDS = frozenset({"talk_to_agent", "human", "agent", "handoff"})

NEGATIVE_PHRASES = _phrases(
    "pessimo", "horrivel", "absurdo", "ridiculo", "lixo", "odeio", "enganacao", "golpe", "vergonha", "nao funciona",
    "reclamacao", "procon", "pesimo", "horrible", "estafa", "fraude", "verguenza", "no funciona", "queja",
    "terrible", "awful", "worst", "hate", "scam", "disgusting", "useless", "ridiculous", "complaint",
)

_QUESTION_WORDS = frozenset(
    _phrases(
        "como", "qual", "quais", "quanto", "quanta", "quando", "onde", "porque", "voces", "tem",
        "cual", "cuales", "cuanto", "cuando", "donde", "tienen", "hay", "how", "what", "which", "when",
        "where", "why", "do", "does", "can", "is", "are",
    )
)


def is_question(text: str) -> bool:
    found = words(text)
    return "?" in text or bool(found) and found[0] in _QUESTION_WORDS
