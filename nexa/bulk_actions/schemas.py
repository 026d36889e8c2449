"""Chatwoot's bulk actions body: `{"type": "Conversation", "ids": [...], "fields": {...}}` or `..., "labels": {...}}`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from nexa.conversations.models import ConversationStatus

# A whole selection of the web inbox fits; larger jobs go through several requests.
MAX_IDS = 1000


class BulkFields(BaseModel):
    """What to set on every conversation; a field left out is left alone, `null` clears it."""

    status: ConversationStatus | None = None
    assignee_id: int | None = None
    team_id: int | None = None
    snoozed_until: int | None = Field(default=None, description="Unix time; required to snooze")


class BulkLabels(BaseModel):
    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)


class BulkActionCreate(BaseModel):
    type: Literal["Conversation"] = Field(description="Only conversations take bulk actions")
    ids: list[int] = Field(min_length=1, max_length=MAX_IDS, description="Conversation display ids")
    fields: BulkFields | None = None
    labels: BulkLabels | None = None


class BulkActionAccepted(BaseModel):
    """Chatwoot answers `{}`: the work runs in a job."""
