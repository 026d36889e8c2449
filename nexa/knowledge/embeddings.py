"""Optional semantic search: vectors from an OpenAI-compatible `/embeddings` endpoint, stored as float32
bytes on each chunk (portable across dialects) and compared with numpy.

The account's vectors are loaded once per process and reused until its embedded chunks change.
numpy is imported by the functions that compute: it takes ~0.25 s, and most processes never search by meaning.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import httpx

from nexa.config import Settings
from nexa.knowledge.repository import ChunkRepository

if TYPE_CHECKING:
    import numpy as np

BATCH_SIZE = 64
_MAX_CACHED_ACCOUNTS = 64


def enabled(settings: Settings) -> bool:
    return bool(settings.embeddings_base_url)


async def embed(http: httpx.AsyncClient, settings: Settings, texts: Sequence[str]) -> list[np.ndarray]:
    """Unit-length vectors for `texts`, in order. Raises httpx.HTTPError when the provider fails."""
    import numpy as np

    assert settings.embeddings_base_url
    headers = {"Authorization": f"Bearer {settings.embeddings_api_key}"} if settings.embeddings_api_key else {}
    response = await http.post(
        f"{settings.embeddings_base_url.rstrip('/')}/embeddings",
        json={"model": settings.embeddings_model, "input": list(texts)},
        headers=headers,
    )
    response.raise_for_status()
    data = sorted(response.json()["data"], key=lambda item: item["index"])
    return [_unit(np.asarray(item["embedding"], dtype=np.float32)) for item in data]


def to_bytes(vector: np.ndarray) -> bytes:
    import numpy as np

    return vector.astype(np.float32).tobytes()


def _unit(vector: np.ndarray) -> np.ndarray:
    import numpy as np

    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


class _Matrix:
    def __init__(self, version: tuple[int, str], ids: np.ndarray, vectors: np.ndarray) -> None:
        self.version = version
        self.ids = ids
        self.vectors = vectors


_cache: OrderedDict[int, _Matrix] = OrderedDict()


async def nearest(chunks: ChunkRepository, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """(chunk id, cosine similarity) of the account's `limit` chunks closest to `query`, closest first."""
    import numpy as np

    matrix = await _account_matrix(chunks)
    if matrix is None or matrix.vectors.shape[1] != query.shape[0]:
        return []
    similarities = matrix.vectors @ query
    count = min(limit, len(similarities))
    top = np.argpartition(-similarities, count - 1)[:count]
    top = top[np.argsort(-similarities[top])]
    return [(int(matrix.ids[i]), float(similarities[i])) for i in top]


async def _account_matrix(chunks: ChunkRepository) -> _Matrix | None:
    import numpy as np

    version = await chunks.embedding_version()
    if version[0] == 0:
        return None
    cached = _cache.get(chunks.account_id)
    if cached is not None and cached.version == version:
        _cache.move_to_end(chunks.account_id)
        return cached
    rows = await chunks.embeddings()
    dimensions = {len(blob) for _, blob in rows}
    if len(dimensions) != 1:
        # Vectors from two models (the provider changed and re-indexing is not finished): keep the newest.
        newest = len(rows[-1][1])
        rows = [row for row in rows if len(row[1]) == newest]
    ids = np.fromiter((chunk_id for chunk_id, _ in rows), dtype=np.int64, count=len(rows))
    vectors = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.float32).reshape(len(rows), -1)
    matrix = _Matrix(version, ids, vectors)
    _cache[chunks.account_id] = matrix
    while len(_cache) > _MAX_CACHED_ACCOUNTS:
        _cache.popitem(last=False)
    return matrix
