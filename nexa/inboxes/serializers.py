from __future__ import annotations

from nexa.inboxes.models import ChannelType, Inbox
from nexa.inboxes.schemas import InboxOut, InboxSummary

# Chatwoot's channel classes: clients branch on these (e.g. WhatsApp's 24-hour window).
CHATWOOT_CHANNEL_CLASS = {
    ChannelType.whatsapp_cloud: "Channel::Whatsapp",
    ChannelType.evolution: "Channel::Whatsapp",
    ChannelType.telegram: "Channel::Telegram",
    ChannelType.web_widget: "Channel::WebWidget",
    ChannelType.api: "Channel::Api",
}


def inbox_out(inbox: Inbox, *, base_url: str) -> InboxOut:
    """`base_url`: Nexa's public address (settings.base_url), for the callback URL providers are given."""
    # Imported here: the webhook module depends on the contacts domain, whose serializers use this module.
    from nexa.channels.webhooks import callback_url

    return InboxOut(
        id=inbox.id,
        account_id=inbox.account_id,
        name=inbox.name,
        avatar_url=inbox.avatar_url or "",
        # Nexa has no separate channel tables; the inbox is its own channel.
        channel_id=inbox.id,
        channel_type=CHATWOOT_CHANNEL_CLASS[inbox.channel_type],
        provider=inbox.channel_type.value,
        channel_config=inbox.channel_config,
        credentials_set=sorted(inbox.encrypted_credentials),
        inbox_identifier=inbox.public_id,
        website_token=inbox.public_id if inbox.channel_type == ChannelType.web_widget else None,
        webhook_url=inbox.channel_config.get("webhook_url"),
        callback_webhook_url=callback_url(base_url, inbox),
        greeting_enabled=inbox.greeting_enabled,
        greeting_message=inbox.greeting_message,
        working_hours_enabled=inbox.working_hours_enabled,
        working_hours=inbox.working_hours,
        timezone=inbox.timezone,
        out_of_office_message=inbox.out_of_office_message,
        enable_auto_assignment=inbox.enable_auto_assignment,
        auto_assignment_config=(
            {"max_assignment_limit": inbox.max_assignment_limit} if inbox.max_assignment_limit else {}
        ),
        max_assignment_limit=inbox.max_assignment_limit,
        bot_enabled=inbox.bot_enabled,
        agent_bot_id=inbox.agent_bot_id,
        lock_to_single_conversation=inbox.lock_to_single_conversation,
        allow_messages_after_resolved=inbox.allow_messages_after_resolved,
        message_templates=inbox.message_templates or [],
        message_templates_last_updated=inbox.message_templates_last_updated,
        message_templates_sync_error=inbox.message_templates_sync_error,
    )


def inbox_summary(inbox: Inbox) -> InboxSummary:
    return InboxSummary(
        id=inbox.id,
        avatar_url=inbox.avatar_url or "",
        channel_id=inbox.id,
        name=inbox.name,
        channel_type=CHATWOOT_CHANNEL_CLASS[inbox.channel_type],
        provider=inbox.channel_type.value,
    )
