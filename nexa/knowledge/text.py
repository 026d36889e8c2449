"""Language-aware text normalization shared by indexing and search.

Both dialects index the same normalized text: lowercase, accents folded (customers type "preco" for
"preço"), stopwords of the chunk's language removed, words reduced to their Snowball stem. Folding and
stemming in Python keeps SQLite (FTS5 has no Portuguese or Spanish stemmer) and PostgreSQL (whose
`unaccent` extension may be missing) in agreement.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Literal

import snowballstemmer

Language = Literal["pt", "es", "en"]
LANGUAGES: tuple[Language, ...] = ("pt", "es", "en")
# PostgreSQL text search configuration of each language (used on the folded text).
PG_TEXT_SEARCH_CONFIGS: dict[str, str] = {"pt": "portuguese", "es": "spanish", "en": "english"}
_SNOWBALL_NAMES: dict[str, str] = {"pt": "portuguese", "es": "spanish", "en": "english"}

_WORD = re.compile(r"[0-9a-z]+")

# Folded (accentless) function words: enough to tell the three languages apart and to drop noise.
STOPWORDS: dict[str, frozenset[str]] = {
    "pt": frozenset(
        "a o as os um uma uns umas de do da dos das no na nos nas em por para pelo pela pelos pelas com sem "
        "e ou que se nao sim eu voce voces ele ela eles elas nos meu minha seu sua isso isto esse essa este "
        "esta estao sao e foi ser ter tem tenho ao aos como mais muito qual quais quando onde quanto quanta "
        "ja tambem so mas ate entre sobre depois antes porque pode posso vou vai ha nem lhe lhes pra pro vc".split()
    ),
    "es": frozenset(
        "el la los las un una unos unas de del al en por para con sin y o que se no si yo tu usted ustedes "
        "el ella ellos ellas nosotros mi mis su sus eso esto ese esa este esta estan son es fue ser tener "
        "tiene tengo como mas muy cual cuales cuando donde cuanto cuanta ya tambien solo pero hasta entre "
        "sobre despues antes porque puede puedo voy va hay ni le les lo".split()
    ),
    "en": frozenset(
        "the a an of to in on at by for with without and or that this these those is are was were be been "
        "being have has had do does did i you he she it we they my your his her its our their what which "
        "who when where how much many can could will would should not no yes if then than there here from "
        "as about into over after before because so but also just only any some".split()
    ),
}
ALL_STOPWORDS = frozenset().union(*STOPWORDS.values())
# Words that give a language away (stopwords of it and of no other).
_MARKERS = {lang: words - frozenset().union(*(w for other, w in STOPWORDS.items() if other != lang))
            for lang, words in STOPWORDS.items()}


def fold(text: str) -> str:
    """Lowercase without accents: "Preço à vista" -> "preco a vista"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def detect_language(text: str, default: Language = "pt") -> Language:
    """The language among pt/es/en whose distinctive function words occur most; `default` on a tie."""
    counts = {lang: 0 for lang in LANGUAGES}
    for word in words(text[:20_000]):
        for lang in LANGUAGES:
            if word in _MARKERS[lang]:
                counts[lang] += 1
    best = max(LANGUAGES, key=lambda lang: (counts[lang], lang == default))
    return best if counts[best] > 0 else default


@lru_cache(maxsize=3)
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(_SNOWBALL_NAMES[language])


@lru_cache(maxsize=200_000)
def stem(word: str, language: str) -> str:
    return _stemmer(language).stemWord(word)


def index_terms(text: str, language: Language) -> list[str]:
    """The stems a chunk is indexed under, in order (stopwords of its language dropped)."""
    stopwords = STOPWORDS[language]
    return [stem(word, language) for word in words(text) if word not in stopwords]


def query_word_stems(text: str) -> dict[str, set[str]]:
    """Each query word (folded, stopwords dropped) with its stems in the three languages: a passage
    indexed under any of them contains the word."""
    return {
        word: {stem(word, language) for language in LANGUAGES}
        for word in dict.fromkeys(words(text))
        if word not in ALL_STOPWORDS
    }
