from __future__ import annotations

from nexa.tenancy.models import Account
from nexa.tenancy.schemas import AccountOut, Branding


def account_out(account: Account) -> AccountOut:
    return AccountOut(
        id=account.id,
        name=account.name,
        locale=account.locale,
        timezone=account.timezone,
        status=account.status.value,
        plan=account.plan,
        limits=account.limits,
        branding=Branding.model_validate(account.branding),
        support_email=account.support_email,
        domain=account.custom_domain,
        custom_attributes=account.custom_attributes,
    )
