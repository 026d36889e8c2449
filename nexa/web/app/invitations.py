"""The page an invited user opens to choose a password: the link the agents settings show.

The API's `invitation_url` is for programs (POST the password to it); people get `/app/invitations/{token}`,
which wears the inviting account's brand and posts to that same API endpoint.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from nexa.auth import members
from nexa.auth.dependencies import DbSession
from nexa.kit.errors import NotFound
from nexa.tenancy.models import Account
from nexa.web.app.pages import page_for, render

router = APIRouter(prefix="/app/invitations", include_in_schema=False)


@router.get("/{token}", response_class=HTMLResponse)
async def invitation_page(
    request: Request, session: DbSession, token: Annotated[str, Path(max_length=128)]
) -> HTMLResponse:
    try:
        invitation = await members.open_invitation(session, token)
    except NotFound:
        response = render(request, page_for(request, None, [], None), "app/invitation.html", valid=False)
        response.status_code = 404
        return response
    account = await session.get(Account, invitation.account_id)
    page = page_for(request, None, [], account)
    return render(request, page, "app/invitation.html", valid=True, config={"invitationToken": token})
