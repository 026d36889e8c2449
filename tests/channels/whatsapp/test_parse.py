"""The adapter alone: Meta's signature test vector and the identity fields of the BSUID era."""

from __future__ import annotations

import json

from nexa.channels.base import InboundMessage, StatusUpdate
from nexa.channels.whatsapp_cloud.adapter import signature
from nexa.channels.whatsapp_cloud.parse import parse_webhook
from nexa.conversations.models import MessageStatus


def _body(value: dict) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}, **value,
    }}]}]}).encode()


def test_signature_matches_the_reference_vector() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    assert signature("test_app_secret", body) == "sha256=dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756"


def test_a_customer_without_wa_id_is_known_by_their_business_scoped_id() -> None:
    [message] = parse_webhook(_body({
        "contacts": [{"profile": {"name": "Ana"}, "user_id": "US.13491208655302741918"}],
        "messages": [{"from": "US.13491208655302741918", "from_user_id": "US.13491208655302741918", "id": "wamid.A",
                      "timestamp": "1717000000", "type": "text", "text": {"body": "oi"}}],
    }))
    assert isinstance(message, InboundMessage)
    assert message.customer.source_id == "US.13491208655302741918" and message.customer.phone is None
    assert message.customer.name == "Ana" and message.route == "106540352242922"
    assert message.sent_at.tzinfo is not None and message.sent_at.timestamp() == 1717000000


def test_a_customer_with_both_ids_is_addressed_by_phone() -> None:
    [message] = parse_webhook(_body({
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": "5511999990000", "user_id": "US.1"}],
        "messages": [{"from": "5511999990000", "id": "wamid.B", "timestamp": "1717000000", "type": "text", "text": {"body": "oi"}}],
    }))
    assert isinstance(message, InboundMessage)
    assert (message.customer.source_id, message.customer.phone, message.customer.identifier) == ("5511999990000", "+5511999990000", "US.1")


def test_failed_status_carries_code_plain_reason_and_details() -> None:
    [status] = parse_webhook(_body({"statuses": [{"id": "wamid.OUT", "status": "failed", "timestamp": "1717090000", "recipient_id": "5511999990000",
        "errors": [{"code": 131026, "title": "Message undeliverable", "error_data": {"details": "Receiver is incapable"}}]}]}))
    assert isinstance(status, StatusUpdate) and status.status == MessageStatus.failed
    assert status.error_code == "131026" and "not be on WhatsApp" in (status.error_title or "")
    assert status.error_details == "Receiver is incapable"


def test_other_webhook_fields_and_unknown_statuses_carry_no_events() -> None:
    template_review = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "message_template_status_update", "value": {"event": "APPROVED"}}]}]}).encode()
    assert parse_webhook(template_review) == []
    assert parse_webhook(_body({"statuses": [{"id": "wamid.X", "status": "deleted", "timestamp": "1"}], "errors": [{"code": 131000}]})) == []
