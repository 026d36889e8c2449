"""Who a private note mentions: Chatwoot's markup and the plain "@Name" the web composer sends."""

from __future__ import annotations

from nexa.notifications.mentions import mentioned_team_ids, mentioned_user_ids, readable

NAMES = {1: ["Ana"], 2: ["Ana Souza", "Aninha"], 3: ["Bruno"]}


def test_markup_names_a_member_by_id_whatever_name_it_shows() -> None:
    assert mentioned_user_ids("see [@Someone](mention://user/3/Someone)", NAMES) == {3}


def test_markup_of_a_user_who_is_not_a_candidate_is_ignored() -> None:
    assert mentioned_user_ids("[@Eve](mention://user/99/Eve) please", NAMES) == set()


def test_plain_mentions_match_whole_names_case_insensitively_longest_first() -> None:
    assert mentioned_user_ids("@ana souza can you check?", NAMES) == {2}
    assert mentioned_user_ids("@Ana, and @aninha.", NAMES) == {1, 2}
    assert mentioned_user_ids("@Anabela is not Ana", NAMES) == set()


def test_an_email_address_or_a_bare_name_is_not_a_mention() -> None:
    assert mentioned_user_ids("write to bruno@Bruno.com or ask Bruno", NAMES) == set()


def test_the_name_inside_markup_does_not_also_count_as_a_plain_mention() -> None:
    # Markup for user 2 shows "@Ana": it must not notify user 1, who is called Ana.
    assert mentioned_user_ids("[@Ana](mention://user/2/Ana) hi", NAMES) == {2}


def test_readable_shows_markup_as_plain_mentions() -> None:
    assert readable("ping [@Ana Souza](mention://user/2/Ana%20Souza) now") == "ping @Ana Souza now"


def test_team_markup_names_teams_not_users() -> None:
    content = "[@Vendas](mention://team/3/Vendas) and [@Bruno](mention://user/3/Bruno)"
    assert mentioned_team_ids(content) == {3}
    assert mentioned_user_ids("[@Vendas](mention://team/3/Vendas)", NAMES) == set()
