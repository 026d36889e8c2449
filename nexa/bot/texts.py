"""What the bot says on its own, in pt-BR, es and en. Account-specific words (questions, choices, rule
replies) come from the account's config; these are the glue around them."""

from __future__ import annotations

from nexa.bot.language import Language

_TEXTS: dict[str, dict[Language, str]] = {
    "greeting": {
        "pt": "Olá! Eu sou {persona}, assistente virtual. Vou te fazer algumas perguntas rápidas para te ajudar melhor.",
        "es": "¡Hola! Soy {persona}, asistente virtual. Te haré algunas preguntas rápidas para ayudarte mejor.",
        "en": "Hi! I'm {persona}, a virtual assistant. I'll ask a few quick questions to help you better.",
    },
    "thanks": {"pt": "Por nada! Estou por aqui.", "es": "¡De nada! Aquí estoy.", "en": "You're welcome! I'm here."},
    "goodbye": {"pt": "Até logo! 👋", "es": "¡Hasta luego! 👋", "en": "Bye! 👋"},
    "opted_out": {
        "pt": "Tudo bem, você não vai mais receber nossas mensagens. Se mudar de ideia, é só escrever.",
        "es": "Listo, ya no recibirás nuestros mensajes. Si cambias de idea, solo escríbenos.",
        "en": "Done, you won't receive our messages anymore. If you change your mind, just write to us.",
    },
    "talk_to_agent": {"pt": "Falar com atendente", "es": "Hablar con asesor", "en": "Talk to a person"},
    "invalid_email": {
        "pt": "Hmm, não parece um e-mail válido (ex.: nome@empresa.com).",
        "es": "Hmm, no parece un correo válido (ej.: nombre@empresa.com).",
        "en": "Hmm, that doesn't look like a valid email (e.g. name@company.com).",
    },
    "invalid_phone": {
        "pt": "Hmm, não parece um telefone válido (com DDD, ex.: 11 91234-5678).",
        "es": "Hmm, no parece un teléfono válido (con código de área).",
        "en": "Hmm, that doesn't look like a valid phone number (with area code).",
    },
    "invalid_number": {
        "pt": "Pode me responder com um número? (ex.: 5000)",
        "es": "¿Puedes responder con un número? (ej.: 5000)",
        "en": "Could you answer with a number? (e.g. 5000)",
    },
    "invalid_choice": {
        "pt": "Escolha uma das opções, por favor:",
        "es": "Elige una de las opciones, por favor:",
        "en": "Please pick one of the options:",
    },
    "skip_words": {"pt": "pular", "es": "saltar", "en": "skip"},
    "done": {
        "pt": "Obrigado! Já anotei tudo. Se tiver alguma dúvida, é só perguntar.",
        "es": "¡Gracias! Ya anoté todo. Si tienes alguna duda, solo pregunta.",
        "en": "Thanks! I've noted everything. If you have any question, just ask.",
    },
    "knowledge_answer": {"pt": "{content}\n\nFonte: {title}", "es": "{content}\n\nFuente: {title}", "en": "{content}\n\nSource: {title}"},
    "dont_know": {
        "pt": "Não tenho essa informação com certeza e prefiro não inventar. Quer falar com um atendente?",
        "es": "No tengo esa información con certeza y prefiero no inventar. ¿Quieres hablar con un asesor?",
        "en": "I don't know that for sure and I'd rather not guess. Would you like to talk to a person?",
    },
    "handoff_soon": {
        "pt": "Vou te passar para um atendente agora. Tempo estimado de espera: cerca de {minutes} min.",
        "es": "Te paso con un asesor ahora. Tiempo estimado de espera: unos {minutes} min.",
        "en": "I'm passing you to a person now. Estimated wait: about {minutes} min.",
    },
    "handoff_queue": {
        "pt": "Vou te passar para um atendente. No momento ninguém está online; você é o {position}º da fila e "
              "será atendido assim que alguém ficar disponível.",
        "es": "Te paso con un asesor. En este momento no hay nadie en línea; eres el número {position} en la "
              "fila y te atenderán en cuanto alguien esté disponible.",
        "en": "I'm passing you to a person. Nobody is online right now; you are number {position} in the queue "
              "and will be helped as soon as someone is available.",
    },
    "follow_up": {
        "pt": "Oi! Ainda posso te ajudar? É só responder por aqui.",
        "es": "¡Hola! ¿Todavía puedo ayudarte? Solo responde por aquí.",
        "en": "Hi! Can I still help you? Just reply here.",
    },
}


def text(key: str, language: Language, **values: object) -> str:
    return _TEXTS[key][language].format(**values)


def localized(options: dict[str, str], language: Language) -> str:
    """An account text in the customer's language, else the first one the account wrote."""
    return options.get(language) or next(iter(options.values()))
