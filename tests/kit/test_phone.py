from __future__ import annotations

import pytest

from nexa.kit.phone import match_key, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+55 11 98765-4321", "+5511987654321"),
        ("(11) 98765-4321", "+5511987654321"),
        ("11987654321", "+5511987654321"),
        ("5511987654321", "+5511987654321"),  # WhatsApp wa_id
        ("551187654321", "+551187654321"),  # wa_id of an account that predates the 9th digit
        ("+55 11 8765-4321", "+551187654321"),
        ("+55 11 3456-7890", "+551134567890"),  # landline
        ("14155552671", "+14155552671"),  # a foreign wa_id
        ("+1 415 555 2671", "+14155552671"),
    ],
)
def test_normalize_to_e164(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_default_region_is_configurable() -> None:
    assert normalize("(415) 555-2671", default_region="US") == "+14155552671"


@pytest.mark.parametrize("raw", ["", "   ", "abc", "123", "+55 11 1234"])
def test_normalize_rejects_what_is_not_a_phone(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize(raw)


def test_brazilian_mobile_with_and_without_ninth_digit_share_a_key() -> None:
    with_nine = match_key(normalize("5511987654321"))
    without_nine = match_key(normalize("551187654321"))
    assert with_nine == without_nine == "5511987654321"


def test_landlines_and_other_countries_keep_their_digits() -> None:
    assert match_key("+551134567890") == "551134567890"
    assert match_key("+14155552671") == "14155552671"
    assert match_key("+551134567890") != match_key("+5511934567890")
