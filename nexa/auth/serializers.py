from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet

from nexa.auth.models import AccountUser, Availability, User
from nexa.auth.schemas import Profile, ProfileAccount


def effective_availability(availability: Availability, *, auto_offline: bool, present: bool) -> Availability:
    """Chatwoot's rule: the chosen availability while a socket heartbeat keeps the agent present (or they
    turned auto-offline off); otherwise offline, so a closed laptop never keeps an agent "online"."""
    return availability if present or not auto_offline else Availability.offline


def availability_status(membership: AccountUser, present_user_ids: AbstractSet[int] | None = None) -> str:
    """What others see. Pass `nexa.realtime.presence.present_user_ids()` of the membership's account;
    without it presence is unknown and the stored availability is shown as is."""
    if present_user_ids is None:
        return membership.availability.value
    status = effective_availability(
        membership.availability, auto_offline=membership.auto_offline, present=membership.user_id in present_user_ids
    )
    return status.value


def profile(user: User, memberships: Sequence[AccountUser], access_token: str | None) -> Profile:
    first = memberships[0] if memberships else None
    return Profile(
        id=user.id,
        uid=user.email,
        name=user.name,
        display_name=user.display_name,
        available_name=user.available_name,
        email=user.email,
        avatar_url="",
        thumbnail="",
        access_token=access_token,
        pubsub_token=user.pubsub_token,
        account_id=first.account_id if first else None,
        role=_chatwoot_role(first) if first else None,
        availability_status=availability_status(first) if first else None,
        confirmed=True,
        provider="email",
        type="user",
        locale=user.locale,
        message_signature=user.message_signature,
        ui_settings=user.ui_settings,
        custom_attributes=user.custom_attributes,
        accounts=[
            ProfileAccount(
                id=m.account_id,
                name=m.account.name,
                status=m.account.status.value,
                role=_chatwoot_role(m),
                availability=m.availability.value,
                availability_status=availability_status(m),
                auto_offline=m.auto_offline,
                active_at=m.active_at,
                locale=m.account.locale,
                timezone=m.account.timezone,
            )
            for m in memberships
        ],
    )


def _chatwoot_role(membership: AccountUser) -> str:
    # Chatwoot knows agent and administrator; an owner is an administrator to its clients.
    return "agent" if membership.role.value == "agent" else "administrator"
