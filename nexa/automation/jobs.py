"""Automation jobs: rule evaluation (enqueued with the triggering change) and the send_webhook_event POST."""

from __future__ import annotations

from typing import Any

from nexa.automation import service
from nexa.automation.triggers import EVALUATE_JOB
from nexa.conversations.repository import ConversationRepository
from nexa.conversations.serializers import conversation_out
from nexa.jobs.registry import Discard, JobContext, job
from nexa.runtime import current_runtime
from nexa.kit.urls import refuse_private_target

_WEBHOOK_TIMEOUT = 10.0


@job(EVALUATE_JOB, max_attempts=5)
async def evaluate_rules(
    ctx: JobContext, conversation_id: int, events: list[str], message_id: int | None = None, depth: int = 0
) -> None:
    assert ctx.account_id is not None
    async with ctx.database.session() as session:
        await service.evaluate(session, ctx.account_id, conversation_id, events, message_id, depth)


@job(service.WEBHOOK_JOB, max_attempts=10)
async def send_webhook(ctx: JobContext, url: str, rule_id: int, conversation_id: int) -> None:
    """POST the conversation as it is now; 4xx answers are final, other failures are retried."""
    assert ctx.account_id is not None
    async with ctx.database.session(write=False) as session:
        conversation = await ConversationRepository(session, ctx.account_id).get(conversation_id)
        if conversation is None:
            raise Discard("the conversation was deleted")
        body: dict[str, Any] = {
            "event": "automation_event",
            "automation_rule_id": rule_id,
            **(await conversation_out(session, conversation)).model_dump(mode="json"),
        }
    runtime = current_runtime()
    refused = await refuse_private_target(url, runtime.settings)
    if refused is not None:
        raise Discard(refused)
    response = await runtime.http.post(url, json=body, timeout=_WEBHOOK_TIMEOUT)
    if 400 <= response.status_code < 500 and response.status_code != 429:
        raise Discard(f"{url} answered {response.status_code}")
    response.raise_for_status()


