"""The retrieval evaluation set: a small multi-document corpus in pt-BR, es and en, and questions a
customer would type (paraphrases, typos, missing accents), each with a phrase found only in the passage
that answers it. Used by tests/knowledge/test_retrieval_eval.py and bench/knowledge_search.py."""

from __future__ import annotations

from dataclasses import dataclass

DOCUMENTS: dict[str, str] = {
    "entregas.md": """# Entregas e frete

## Prazos de entrega
Entregamos para todo o Brasil pelos Correios e por transportadora. Nas capitais o prazo é de 2 a 4 dias
úteis; no interior, de 5 a 8 dias úteis. Pedidos feitos até as 14h são despachados no mesmo dia.

## Valor do frete
O frete é grátis em compras acima de R$ 200. Abaixo desse valor, o frete fixo custa R$ 19,90 para
qualquer região.

## Rastreamento
Assim que o pedido sai do nosso depósito você recebe por WhatsApp e por e-mail o código de rastreio.
""",
    "trocas.md": """# Trocas e devoluções

## Prazo para troca
Você pode trocar ou devolver qualquer produto em até 30 dias corridos após o recebimento, desde que
esteja sem uso e com a etiqueta.

## Reembolso
O reembolso é feito na mesma forma de pagamento em até 10 dias úteis após recebermos o produto de volta.

## Produto com defeito
Se o produto chegou com defeito, a primeira troca tem postagem reversa gratuita: enviamos uma
autorização de postagem para você levar a uma agência.
""",
    "pagamentos.md": """# Formas de pagamento

## Pix e boleto
Aceitamos Pix com 5% de desconto, aprovado na hora. O boleto bancário vence em 3 dias e a compensação
leva até 2 dias úteis.

## Cartão de crédito
Parcelamos em até 10 vezes sem juros no cartão de crédito, com parcela mínima de R$ 30. Aceitamos Visa,
Mastercard, Elo e American Express.

## Nota fiscal
A nota fiscal eletrônica é enviada por e-mail no momento do faturamento do pedido.
""",
    "loja_fisica.md": """# Nossa loja física

## Endereço e horário
A loja fica na Avenida Paulista, 1000, em São Paulo, perto da estação Trianon-Masp do metrô. Funciona
de segunda a sábado, das 10h às 22h, e aos domingos e feriados das 14h às 20h.

## Retirada na loja
Você pode comprar pelo site e retirar na loja sem pagar frete: o pedido fica disponível para retirada em
até 2 horas após a confirmação do pagamento.

## Estacionamento
Clientes têm 2 horas grátis no estacionamento conveniado da rua Itapeva.
""",
    "tienda_envios.md": """# Envíos de Tienda Sol

## Plazos
Hacemos envíos a todo México. A Ciudad de México llegan en 1 a 2 días hábiles y al resto del país en
3 a 6 días hábiles.

## Costo de envío
El envío es gratis en compras mayores a 999 pesos. Para compras menores, el envío cuesta 149 pesos.

## Envíos internacionales
Por ahora no realizamos envíos fuera de México.
""",
    "tienda_pagos.md": """# Pagos y facturación

## Medios de pago
Aceptamos tarjeta de crédito y débito, pagos en OXXO y transferencia SPEI. Con tarjetas de crédito
participantes ofrecemos hasta 12 meses sin intereses.

## Factura
Si necesitas factura, envíanos tu RFC y tu constancia de situación fiscal dentro del mismo mes de la compra.

## Garantía
Todos los electrodomésticos tienen garantía de 1 año directamente con el fabricante.
""",
    "brightdesk_plans.md": """# Brightdesk plans and billing

## Plans
The Starter plan costs $19 per agent per month and includes email and chat. The Growth plan costs
$49 per agent per month and adds WhatsApp, automations and reports. Enterprise pricing is custom.

## Free trial
Every new workspace gets a 14-day free trial of the Growth plan. No credit card is required to start.

## Cancellation and refunds
You can cancel anytime from the billing page. Annual plans cancelled within 30 days get a full refund;
monthly plans are not refunded for the current month.
""",
    "brightdesk_security.md": """# Brightdesk security and data

## Data location
Customer data is stored in Frankfurt, Germany, on encrypted disks. Backups run every night and are
kept for 35 days.

## Single sign-on
Single sign-on with SAML (Okta, Azure AD, Google Workspace) is available on the Enterprise plan.

## Password reset
To reset your password, click "Forgot password" on the login page; the link in the email expires after
one hour.
""",
}


@dataclass(frozen=True)
class Question:
    query: str
    expected: str  # a phrase only the answering passage contains
    language: str


def _q(language: str, expected: str, *queries: str) -> list[Question]:
    return [Question(query, expected, language) for query in queries]


QUESTIONS: list[Question] = [
    # pt-BR
    *_q("pt", "2 a 4 dias", "Qual o prazo de entrega para capitais?", "em quantos dias chega no interior?",
        "quanto tempo demora a entrega", "prazo de entrga"),
    *_q("pt", "R$ 19,90", "quanto custa o frete?", "o frete é gratis?", "valor do frete pra minha regiao"),
    *_q("pt", "código de rastreio", "como rastrear meu pedido?", "vocês mandam o codigo de rastreio?"),
    *_q("pt", "30 dias corridos", "posso devolver um produto?", "qual o prazo pra troca", "quero trocar uma peça sem uso"),
    *_q("pt", "mesma forma de pagamento", "como funciona o reembolso?", "quando recebo meu dinheiro de volta do reembolso"),
    *_q("pt", "postagem reversa", "o produto veio com defeito, o que faço?", "produto chegou quebrado com defeito"),
    *_q("pt", "5% de desconto", "aceitam pix?", "tem desconto no pix", "da pra pagar com boleto?"),
    *_q("pt", "10 vezes sem juros", "parcelam no cartão?", "em quantas vezes posso parcelar", "aceita cartao mastercard?"),
    *_q("pt", "nota fiscal eletrônica", "vocês emitem nota fiscal?"),
    *_q("pt", "Avenida Paulista", "onde fica a loja?", "qual o endereco da loja fisica", "horario de funcionamento da loja no sabado",
        "a loja abre domingo?"),
    *_q("pt", "retirada em", "posso retirar na loja?", "comprar no site e buscar na loja"),
    *_q("pt", "estacionamento conveniado", "tem estacionamento?"),
    # es
    *_q("es", "1 a 2 días hábiles", "¿cuánto tarda el envío a la Ciudad de México?", "en cuantos dias llega mi pedido",
        "plazo de entrega a Monterrey", "tiempo de envio"),
    *_q("es", "149 pesos", "¿cuánto cuesta el envío?", "el envio es gratis?", "costo del envío para compras chicas"),
    *_q("es", "fuera de México", "¿hacen envíos a Estados Unidos?", "envian internacional?"),
    *_q("es", "OXXO", "¿puedo pagar en OXXO?", "que formas de pago aceptan", "aceptan transferencia spei?"),
    *_q("es", "12 meses sin intereses", "tienen meses sin intereses?", "puedo pagar a meses con tarjeta de credito"),
    *_q("es", "RFC", "¿cómo pido mi factura?", "necesito factura", "facturacion de mi compra"),
    *_q("es", "garantía de 1 año", "¿cuánta garantía tienen los electrodomésticos?", "el refrigerador tiene garantia?",
        "garantia del fabricante"),
    # en
    *_q("en", "$19 per agent", "How much does the Starter plan cost?", "starter pricing", "what is the cheapest plan"),
    *_q("en", "$49 per agent", "price of the growth plan", "which plan includes WhatsApp?", "do you have automations and reports?"),
    *_q("en", "14-day free trial", "Is there a free trial?", "can I try it without a credit card?", "how long is the trial"),
    *_q("en", "full refund", "Can I get a refund if I cancel?", "how do I cancel my subscription", "refund policy for anual plans"),
    *_q("en", "Frankfurt", "Where is my data stored?", "which country hosts the data", "do you keep backups?"),
    *_q("en", "SAML", "Do you support single sign-on?", "okta sso integration", "can we log in with azure ad"),
    *_q("en", "Forgot password", "How do I reset my password?", "i forgot my pasword", "the reset link expired"),
]


@dataclass(frozen=True)
class Metrics:
    hit_at_1: float
    hit_at_3: float
    mrr: float
    misses: list[str]  # questions whose answer was not in the top 3


def evaluate(results: list[tuple[Question, list[str]]]) -> Metrics:
    """Metrics over (question, contents of its hits best first) pairs."""
    ranks = []
    misses = []
    for question, contents in results:
        rank = next((i for i, content in enumerate(contents, start=1) if question.expected in content), None)
        ranks.append(rank)
        if rank is None or rank > 3:
            misses.append(f"{question.query!r} -> {contents[:1]}")
    count = len(results)
    return Metrics(
        hit_at_1=sum(1 for rank in ranks if rank == 1) / count,
        hit_at_3=sum(1 for rank in ranks if rank is not None and rank <= 3) / count,
        mrr=sum(1 / rank for rank in ranks if rank is not None) / count,
        misses=misses,
    )
