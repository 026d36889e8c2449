"""Guarantees of docs/reliability.md that no other test states outright, and the page's own honesty."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path

from nexa.runtime import Runtime, use_runtime
from nexa.webhooks.jobs import webhook_backoff

ROOT = Path(__file__).resolve().parents[2]


async def test_outgoing_webhook_retries_span_more_than_24_hours(runtime: Runtime) -> None:
    # A receiver down for a day (a weekend deploy gone wrong) still gets every event once it is back.
    use_runtime(runtime)
    attempts = runtime.settings.webhook_max_attempts
    # Each wait is drawn with +-10 % jitter; even the shortest draws must add up to a day.
    waits = [min(webhook_backoff(attempt) for _ in range(20)) for attempt in range(1, attempts)]
    assert timedelta(seconds=sum(waits)) > timedelta(hours=24)


def test_every_proof_named_in_reliability_md_exists() -> None:
    # A guarantee whose test was renamed or deleted would silently become a claim without proof.
    page = (ROOT / "docs" / "reliability.md").read_text()
    references = set(re.findall(r"(tests/[\w/]+\.py)::(\w+)", page))
    assert len(references) > 20
    missing = []
    for path, name in sorted(references):
        file = ROOT / path
        defined = set()
        if file.exists():
            defined = {node.name for node in ast.walk(ast.parse(file.read_text()))
                       if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
        if name not in defined:
            missing.append(f"{path}::{name}")
    assert not missing, f"docs/reliability.md names tests that do not exist: {missing}"
