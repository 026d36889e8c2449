"""The local media store: whole reads, chunked reads that release the file, keys that cannot leave the root."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexa.kit.storage import CHUNK_BYTES, LocalMediaStore


async def test_local_files_are_written_read_streamed_and_deleted(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path)
    data = b"x" * (CHUNK_BYTES * 2 + 1)
    await store.write("1/2026/11/a.bin", data)
    assert await store.read("1/2026/11/a.bin") == data
    opened = await store.open("1/2026/11/a.bin")
    chunks = [chunk async for chunk in opened.chunks]
    assert (opened.size, [len(c) for c in chunks]) == (len(data), [CHUNK_BYTES, CHUNK_BYTES, 1])
    assert store.direct_url("1/2026/11/a.bin", "application/octet-stream", "a.bin") is None

    await store.delete("1/2026/11/a.bin")
    await store.delete("1/2026/11/a.bin")
    with pytest.raises(FileNotFoundError):
        await store.open("1/2026/11/a.bin")
    with pytest.raises(ValueError):
        await store.read("../outside")
