"""Splitting a document's blocks into passages the bot can quote.

A chunk never crosses a heading: each one starts with its heading path ("Entrega > Prazos") so it reads
on its own. Inside a section, blocks are packed up to MAX_CHARS, and the next chunk repeats the end of
the previous one (OVERLAP_CHARS) so an answer straddling the cut is whole in at least one chunk. Tables
stay whole up to TABLE_MAX_CHARS; longer ones are split between rows (each row names its columns, so a part reads on its own).
"""

from __future__ import annotations

import re

from nexa.knowledge.extraction import Block

MAX_CHARS = 1000
OVERLAP_CHARS = 200
TABLE_MAX_CHARS = 3000

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


def chunk_blocks(blocks: list[Block]) -> list[str]:
    chunks: list[str] = []
    path: list[tuple[int, str]] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            chunks.append(_with_path(path, "\n\n".join(pending)))
            pending.clear()

    for block in blocks:
        if block.kind == "heading":
            flush()
            path = [(level, text) for level, text in path if level < block.level] + [(block.level, block.text)]
            continue
        if block.kind == "table":
            flush()
            chunks.extend(_with_path(path, part) for part in _table_parts(block))
            continue
        for piece in _pieces(block.text):
            if pending and sum(len(p) for p in pending) + len(piece) > MAX_CHARS:
                carried = _tail(pending[-1])
                flush()
                pending.append(carried)
            pending.append(piece)
    flush()
    if not chunks and path:
        # A document of headings only (e.g. a list of FAQ questions without answers) still says something.
        chunks.append(" > ".join(text for _, text in path))
    return chunks


def _with_path(path: list[tuple[int, str]], body: str) -> str:
    heading = " > ".join(text for _, text in path)
    return f"{heading}\n{body}" if heading else body


def _pieces(text: str) -> list[str]:
    """The paragraph, or its sentences packed up to MAX_CHARS when it is longer than that."""
    if len(text) <= MAX_CHARS:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        while len(sentence) > MAX_CHARS:  # one endless "sentence" (a dump without punctuation)
            pieces.append(sentence[:MAX_CHARS])
            sentence = sentence[MAX_CHARS:]
        if current and len(current) + len(sentence) + 1 > MAX_CHARS:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        pieces.append(current)
    return pieces


def _tail(text: str) -> str:
    """The last OVERLAP_CHARS of `text`, starting at a word boundary."""
    if len(text) <= OVERLAP_CHARS:
        return text
    tail = text[-OVERLAP_CHARS:]
    return tail[tail.find(" ") + 1:] if " " in tail else tail


def _table_parts(block: Block) -> list[str]:
    if len(block.text) <= TABLE_MAX_CHARS or not block.rows:
        return [block.text]
    parts: list[str] = []
    current: list[str] = []
    for row in block.rows:
        if current and sum(len(r) + 1 for r in current) + len(row) > MAX_CHARS:
            parts.append("\n".join(current))
            current = []
        current.append(row)
    if current:
        parts.append("\n".join(current))
    return parts
