from __future__ import annotations

from nexa.teams.models import Team
from nexa.teams.schemas import TeamOut


def team_out(team: Team, *, is_member: bool) -> TeamOut:
    return TeamOut(
        id=team.id,
        name=team.name,
        description=team.description,
        allow_auto_assign=team.allow_auto_assign,
        account_id=team.account_id,
        is_member=is_member,
    )
