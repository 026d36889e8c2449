"""The pieces indexing is built from: language detection, normalization, structure-aware chunking."""

from __future__ import annotations

import dataclasses

import pytest

from nexa.knowledge.chunking import MAX_CHARS, OVERLAP_CHARS, TABLE_MAX_CHARS, chunk_blocks
from nexa.knowledge.extraction import DocumentFormat, extract_blocks
from nexa.knowledge.schemas import KnowledgeHit
from nexa.knowledge.service import search_knowledge
from nexa.knowledge.text import detect_language, fold, query_word_stems
from nexa.runtime import Runtime
from tests.factories import make_account


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Qual é o prazo de entrega para o interior? Não sei se vocês entregam.", "pt"),
        ("¿Cuál es el plazo de entrega? Los envíos llegan en tres días.", "es"),
        ("What is the delivery time? The orders arrive in three days.", "en"),
        ("12345 !!!", "pt"),  # nothing to tell: the default
    ],
)
def test_language_is_detected_from_function_words(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_a_query_word_matches_in_any_language_without_accents() -> None:
    assert fold("Preço à VISTA") == "preco a vista"
    stems = query_word_stems("Qual o preço das entregas?")
    assert list(stems) == ["preco", "entregas"]  # stopwords gone, accents folded
    assert "entreg" in stems["entregas"]


def test_chunks_follow_headings_overlap_and_keep_tables_whole() -> None:
    sentence = "O prazo de entrega depende da região e da transportadora escolhida. "
    markdown = (
        "# Entregas\n\n## Prazos\n\n" + "\n\n".join(sentence * 4 for _ in range(8))
        + "\n\n## Tabela\n\n| Região | Prazo |\n|---|---|\n| Sul | 3 dias |\n| Norte | 9 dias |\n"
    )
    chunks = chunk_blocks(extract_blocks(markdown.encode(), DocumentFormat.markdown))

    prazos = [chunk for chunk in chunks if chunk.startswith("Entregas > Prazos\n")]
    assert len(prazos) > 1 and all(len(chunk) <= MAX_CHARS + OVERLAP_CHARS + 100 for chunk in prazos)
    # Each chunk after the first repeats the end of the one before.
    for before, after in zip(prazos, prazos[1:]):
        assert after.split("\n", 1)[1][:50] in before
    assert chunks[-1] == "Entregas > Tabela\nRegião: Sul; Prazo: 3 dias\nRegião: Norte; Prazo: 9 dias"


def test_a_long_table_is_cut_between_rows() -> None:
    rows = "\n".join(f"Produto {i};R$ {i},00" for i in range(400))
    chunks = chunk_blocks(extract_blocks(f"produto;preço\n{rows}".encode(), DocumentFormat.csv))
    assert len(chunks) > 1 and sum(len(chunk) for chunk in chunks) > TABLE_MAX_CHARS
    assert all(line.startswith("produto: Produto ") for chunk in chunks for line in chunk.split("\n"))


async def test_the_bot_gets_nothing_from_an_account_without_knowledge(runtime: Runtime) -> None:
    account = await make_account(runtime)
    async with runtime.db.session(write=False) as session:
        assert await search_knowledge(session, account.id, "quanto custa?") == []
    assert dataclasses.is_dataclass(KnowledgeHit) and KnowledgeHit.__dataclass_params__.frozen  # type: ignore[attr-defined]
