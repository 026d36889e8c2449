"""Auto-reply rule matching: p50/p95/p99 per message against an account's 500 rules (target p95 <= 2 ms).

    .venv/bin/python bench/bot_rules.py [--rules 500] [--messages 5000]

Measured per message: matching through the compiled, cached rules (keywords indexed, patterns and
built-ins tried in priority order), and the bot's whole path (nexa.bot.rules.service.find_rule), which
adds the version check on the account's bot settings (one indexed query, SQLite). Rules: a mix of keyword rules (3-6 keywords each), regex patterns and the built-in
greeting/thanks/goodbye rules, scoped to inboxes and business hours; messages: realistic customer
texts in pt-BR, es and en, most matching nothing (the worst case: every rule is tried).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nexa.bot.rules import service as rules  # noqa: E402
from nexa.bot.rules.matching import match_rules  # noqa: E402
from nexa.bot.rules.models import BusinessHours, RuleKind  # noqa: E402
from nexa.bot.schemas import RuleIn  # noqa: E402
from nexa.db import migrations  # noqa: E402
from nexa.db.engine import Database  # noqa: E402
from nexa.inboxes.models import ChannelType, Inbox  # noqa: E402
from nexa.kit.clock import utcnow  # noqa: E402
from nexa.tenancy import service as tenancy  # noqa: E402

WORDS = ("preço entrega pedido boleto pix cartão parcela frete garantia troca devolução horário endereço loja "
         "precio envío pedido tarjeta cuotas garantía cambio horario dirección tienda price shipping order card "
         "installments warranty refund hours address store plano assinatura desconto cupom nota fiscal").split()
MESSAGES = (
    "Oi, tudo bem? Queria saber o valor do plano anual", "vocês entregam em Curitiba?", "Hola, ¿cuánto cuesta el envío a Lima?",
    "Hi, I'd like to know more about your product", "Bom dia! Meu pedido ainda não chegou", "quero falar com alguém",
    "olá", "obrigado!", "Can you send me the catalog?", "me manda o link do site", "tem desconto pra pagamento à vista?",
)


async def main(rule_count: int, message_count: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{directory}/bench.db"
        await migrations.upgrade_async(url)
        database = Database(url)
        random.seed(7)
        async with database.session() as session:
            account = await tenancy.create_account(session, name="Bench")
            inbox = Inbox(name="Vendas", channel_type=ChannelType.api, public_id="bench", channel_config={}, encrypted_credentials={})
            inbox.account_id = account.id
            session.add(inbox)
            await session.flush()
            for n in range(rule_count):
                kind = RuleKind.pattern if n % 10 == 0 else RuleKind.keyword
                await rules.create_rule(session, account.id, RuleIn(
                    name=f"rule {n}", kind=kind, priority=n + 100,
                    keywords=[f"{random.choice(WORDS)} {random.choice(WORDS)}" for _ in range(random.randint(3, 6))],
                    pattern=rf"\b{random.choice(WORDS)}\s+\d{{3,}}\b" if kind == RuleKind.pattern else None,
                    reply="ok", inbox_ids=[inbox.id] if n % 3 == 0 else [],
                    business_hours=BusinessHours.open if n % 7 == 0 else BusinessHours.any,
                ))
            for kind in (RuleKind.greeting, RuleKind.thanks, RuleKind.goodbye):
                await rules.create_rule(session, account.id, RuleIn(name=kind.value, kind=kind, priority=10_000))
            account_id, inbox_id = account.id, inbox.id
        with_check, match_only = [], []
        async with database.session(write=False) as session:
            inbox = await session.get(Inbox, inbox_id)
            assert inbox is not None
            cached = await rules.compiled_rules(session, account_id)
            for n in range(message_count):
                text = MESSAGES[n % len(MESSAGES)]
                start = time.perf_counter()
                await rules.find_rule(session, account_id, text, inbox=inbox, at=utcnow())
                with_check.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                match_rules(cached, text, inbox=inbox, at=utcnow())
                match_only.append((time.perf_counter() - start) * 1000)
        await database.dispose()
    print(f"rules: {rule_count + 3}, messages: {message_count}")
    print("| path | p50 ms | p95 ms | p99 ms | mean ms | target p95 <= 2 ms |")
    print("|---|---|---|---|---|---|")
    for name, timings in (("match (cached rules)", match_only), ("find_rule (version check + match)", with_check)):
        timings.sort()
        p = lambda q: timings[min(len(timings) - 1, int(q * len(timings)))]  # noqa: E731
        print(f"| {name} | {p(0.5):.3f} | {p(0.95):.3f} | {p(0.99):.3f} | {statistics.mean(timings):.3f} | "
              f"{'met' if p(0.95) <= 2 else 'MISSED'} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", type=int, default=500)
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(main(args.rules, args.messages))
