"""Who a private note mentions: Chatwoot's markup `[@Name](mention://user/ID/Name)` or, for every member
of a team, `[@Team](mention://team/ID/Team)` (what its editor and API clients write), or a plain "@Name"
typed by hand (what the web inbox's composer sends)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

MARKUP = re.compile(r"\[@([^\]]*)\]\(mention://(user|team)/(\d+)/[^)]*\)")


def readable(content: str) -> str:
    """The note as people read it: every markup mention becomes "@Name"."""
    return MARKUP.sub(lambda match: "@" + match.group(1), content)


def mentioned_user_ids(content: str, names: Mapping[int, Sequence[str]]) -> set[int]:
    """The users among `names` (user id -> the names they go by) that `content` mentions.

    Markup names a user by id; a plain "@Name" is matched whole and case-insensitively, the longest name
    first ("@Ana Souza" is Ana Souza, not another member called Ana), and not inside an e-mail address."""
    marked = {int(match.group(3)) for match in MARKUP.finditer(content) if match.group(2) == "user"}
    found = marked & set(names)
    plain = MARKUP.sub(" ", content)
    by_name: dict[str, set[int]] = {}
    for user_id, user_names in names.items():
        for name in user_names:
            if name.strip():
                by_name.setdefault(name.strip().casefold(), set()).add(user_id)
    if not by_name or "@" not in plain:
        return found
    alternatives = "|".join(re.escape(name) for name in sorted(by_name, key=len, reverse=True))
    for match in re.finditer(rf"(?<![\w@])@({alternatives})(?!\w)", plain, re.IGNORECASE):
        found |= by_name[match.group(1).casefold()]
    return found


def mentioned_team_ids(content: str) -> set[int]:
    """The teams `content` mentions with markup (any id: the caller keeps its own account's)."""
    return {int(match.group(3)) for match in MARKUP.finditer(content) if match.group(2) == "team"}
