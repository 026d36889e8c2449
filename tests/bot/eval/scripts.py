"""The scripted evaluation of the bot without an LLM: conversations in pt-BR, es and en, each with the
outcome it should have (handed to a human or not), played through the WhatsApp webhook path.
Used by tests/bot/eval/test_eval.py and bench/bot_eval.py."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from nexa.devtools.fake_graph import FakeGraph
from nexa.runtime import Runtime
from tests.bot.harness import Customer
from tests.channels.whatsapp.helpers import WhatsAppInbox

Tap = tuple[str, str]  # (button id, title): the customer taps an option


@dataclass(frozen=True)
class Script:
    name: str
    language: str
    category: str  # hot, warm, cold, human, opt_out, off_topic, negative, unanswered
    turns: tuple[str | Tap, ...]
    hand_off: bool


def _s(name: str, language: str, category: str, hand_off: bool, *turns: str | Tap) -> Script:
    return Script(name, language, category, turns, hand_off)


SCRIPTS: tuple[Script, ...] = (
    # hot: buying now with money -> a human
    _s("hot typed", "pt", "hot", True, "Oi, quero comprar", "Quero comprar", "Mais de R$ 5 mil", "agora"),
    _s("hot taps", "pt", "hot", True, "Olá", ("buy", "Quero comprar"), ("over_5k", "Mais de R$ 5 mil"), ("now", "Agora / esta semana")),
    _s("hot no accents", "pt", "hot", True, "ola boa tarde", "quero comprar", "mais de 5 mil", "urgente, hoje se possivel"),
    _s("hot typos", "pt", "hot", True, "oie", "quero comprr", "mais de 5 mill", "agora"),
    _s("hot by number", "pt", "hot", True, "Bom dia", "1", "3", "1"),
    _s("hot typed", "es", "hot", True, "Hola, buenas tardes", "Quiero comprar", "Más de 5 mil", "ahora mismo"),
    _s("hot no accents", "es", "hot", True, "hola", "quiero comprar", "mas de 5 mil", "hoy"),
    _s("hot taps", "es", "hot", True, "Hola", ("buy", "Quiero comprar"), ("over_5k", "Más de 5 mil"), ("now", "Ahora / esta semana")),
    _s("hot typos", "es", "hot", True, "holaa buenas", "quiero compar", "mas de 5 mil", "ahora"),
    _s("hot typed", "en", "hot", True, "Hi there", "I want to buy", "Over 5k", "right now"),
    _s("hot big budget", "en", "hot", True, "Hello", "buy", "more than 10k", "asap"),
    _s("hot taps", "en", "hot", True, "Hey", ("buy", "I want to buy"), ("over_5k", "Over 5k"), ("now", "Now / this week")),
    _s("hot typos", "en", "hot", True, "helo", "i wnat to buy", "over 5k", "now"),
    # warm: interested, not ready -> stays with the bot
    _s("warm", "pt", "warm", False, "Oi", "Só informações", "entre 1 e 5 mil", "sem pressa", "Decido com meu sócio", "maria@empresa.com.br"),
    _s("warm no accents", "pt", "warm", False, "oi", "so informacoes", "1 a 5 mil", "ano que vem", "pesquisando", "pular"),
    _s("warm", "pt", "warm", False, "Boa noite", "Quero comprar", "Até R$ 1 mil", "sem pressa", "em conjunto", "nao"),
    _s("warm", "es", "warm", False, "Hola", "Solo información", "De 1 mil a 5 mil", "sin prisa", "decido con otros", "saltar"),
    _s("warm", "es", "warm", False, "hola", "quiero comprar", "hasta 1 mil", "mas adelante", "con mi socio", "ana@empresa.es"),
    _s("warm", "en", "warm", False, "Hi", "Just information", "1k to 5k", "no rush", "together with my partner", "skip"),
    _s("warm", "en", "warm", False, "hello", "I want to buy", "up to 1k", "next year", "just researching", "john@acme.com"),
    # cold: browsing, no budget -> never handed off
    _s("cold", "pt", "cold", False, "Oi", "Só olhando", "até 1 mil", "sem pressa", "só pesquisando", "pular"),
    _s("cold no accents", "pt", "cold", False, "oi", "so olhando", "pouco", "depois", "nao", "nao"),
    _s("cold typos", "pt", "cold", False, "olá", "so olhandu", "ate 1 mil", "sem presa", "pesquisando", "pular"),
    _s("cold", "es", "cold", False, "Hola", "Solo mirando", "Hasta 1 mil", "sin prisa", "solo investigando", "saltar"),
    _s("cold", "es", "cold", False, "hola", "mirando", "hasta 1 mil", "mas adelante", "no", "no"),
    _s("cold no accents", "es", "cold", False, "buenas", "solo mirando", "hasta 1", "sin prisa", "investigando", "no"),
    _s("cold", "en", "cold", False, "Hi", "Just browsing", "Up to 1k", "No rush", "Just researching", "skip"),
    _s("cold", "en", "cold", False, "hello", "browsing", "under 1k", "later", "no", "no"),
    _s("cold chatty", "en", "cold", False, "hey", "just looking", "under 1k", "next year", "researching", "skip", "ok thanks"),
    # people who want a human
    _s("human", "pt", "human", True, "Oi", "quero falar com um atendente"),
    _s("human first", "pt", "human", True, "Tem algum humano aí?"),
    _s("human mid-flow", "pt", "human", True, "Olá", "Quero comprar", "prefiro falar com uma pessoa"),
    _s("human", "es", "human", True, "Hola, necesito hablar con una persona"),
    _s("human", "es", "human", True, "hola", "¿me pasas con un asesor?"),
    _s("human", "en", "human", True, "Can I talk to a human?"),
    _s("human button", "en", "human", True, "hi", "what's the meaning of life?", ("talk_to_agent", "Talk to a person")),
    # opt-outs
    _s("opt-out", "pt", "opt_out", False, "Oi", "PARE"),
    _s("opt-out", "pt", "opt_out", False, "sair"),
    _s("opt-out", "es", "opt_out", False, "hola", "baja"),
    _s("opt-out", "en", "opt_out", False, "STOP"),
    # off-topic once: the bot says it does not know, offers a human, goes on
    _s("off-topic", "pt", "off_topic", False, "Oi", "qual a previsão do tempo amanhã?", "Só olhando"),
    _s("off-topic", "es", "off_topic", False, "Hola", "¿quién ganó el partido ayer?", "Solo mirando"),
    _s("off-topic", "en", "off_topic", False, "Hi", "what's the capital of France?", "Just browsing"),
    # repeated "I don't know" with a lead still in play -> a human
    _s("unanswered", "pt", "unanswered", True, "Oi", "vocês aceitam cripto?", "e parcelam em 24x?"),
    # negative sentiment -> a human
    _s("negative", "pt", "negative", True, "Oi", "Isso é um absurdo, ninguém me responde"),
    _s("negative", "es", "negative", True, "Hola", "esto es una estafa"),
    _s("negative", "en", "negative", True, "Hi", "This is the worst service ever"),
)


@dataclass(frozen=True)
class Result:
    script: Script
    handed_off: bool
    score: int | None

    @property
    def correct(self) -> bool:
        return self.handed_off == self.script.hand_off


async def play(
    client: httpx.AsyncClient, runtime: Runtime, fake: FakeGraph, inbox: WhatsAppInbox, language: str | None = None
) -> list[Result]:
    """Play every script (or those of one language), each as its own customer."""
    results = []
    for number, script in enumerate(SCRIPTS):
        if language is not None and script.language != language:
            continue
        person = Customer(client, runtime, fake, inbox, number=f"55219{number:08d}")
        for turn in script.turns:
            await (person.taps(*turn) if isinstance(turn, tuple) else person.says(turn))
        conversation = await person.conversation()
        results.append(Result(script, conversation["status"] == "open", (await person.contact())["lead_score"]))
    return results


def table(results: list[Result]) -> str:
    lines = ["| category | language | conversations | expected handoffs | handed off | correct |", "|---|---|---|---|---|---|"]
    groups: dict[tuple[str, str], list[Result]] = {}
    for result in results:
        groups.setdefault((result.script.category, result.script.language), []).append(result)
    for (category, language), group in groups.items():
        lines.append(
            f"| {category} | {language} | {len(group)} | {sum(r.script.hand_off for r in group)} | "
            f"{sum(r.handed_off for r in group)} | {sum(r.correct for r in group)}/{len(group)} |"
        )
    correct = sum(r.correct for r in results)
    lines.append(f"| **all** | | {len(results)} | {sum(r.script.hand_off for r in results)} | "
                 f"{sum(r.handed_off for r in results)} | {correct}/{len(results)} ({100 * correct / len(results):.0f} %) |")
    wrong = [f"- {r.script.category}/{r.script.language} {r.script.name!r}: handed off={r.handed_off}, score={r.score}" for r in results if not r.correct]
    return "\n".join(lines + (["", "Wrong:", *wrong] if wrong else []))
