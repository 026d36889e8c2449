"""Languages Nexa speaks."""

SUPPORTED_LOCALES = ("pt-BR", "es", "en")
DEFAULT_LOCALE = "pt-BR"
