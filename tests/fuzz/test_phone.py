"""Phone normalization under arbitrary input: E.164 out or ValueError, idempotent, and Brazil's 9th-digit
equivalence holding in both directions (nexa/kit/phone.py)."""

from __future__ import annotations

import re

import phonenumbers
from hypothesis import assume, given
from hypothesis import strategies as st

from nexa.kit.phone import match_key, normalize

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
# Area codes (DDD) in use in Brazil.
BR_AREAS = [a for a in range(11, 100) if phonenumbers.is_valid_number(phonenumbers.parse(f"+55{a}988887777"))]

REGIONS = ["BR", "US", "PT", "AR", "MX", "DE", "IN"]
regions = st.sampled_from(REGIONS)
seven_digits = st.integers(0, 9_999_999).map(lambda n: f"{n:07d}")


@st.composite
def real_numbers(draw: st.DrawFn) -> str:
    """A valid mobile of some country in E.164: the library's example with its last digits changed."""
    example = phonenumbers.example_number_for_type(draw(regions), phonenumbers.PhoneNumberType.MOBILE)
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    return e164[:-4] + f"{draw(st.integers(0, 9999)):04d}"


@st.composite
def spelled(draw: st.DrawFn, e164: str) -> str:
    """One number as people type it: with or without '+', spaces, dashes, dots, parentheses."""
    digits = e164.removeprefix("+")
    cuts = sorted(draw(st.sets(st.integers(1, len(digits) - 1), max_size=4)))
    parts = [digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)])]
    return draw(st.sampled_from(["+", "", "+ "])) + "".join(part + draw(st.sampled_from([" ", "-", ".", ""])) for part in parts)


phoneish = st.from_regex(r"\A\+?[0-9 ().\-]{0,20}\Z") | st.text(max_size=24) | real_numbers().flatmap(spelled)


def _normalized(raw: str, region: str = "BR") -> str | None:
    try:
        return normalize(raw, region)
    except ValueError:
        return None


@given(raw=phoneish, region=regions)
def test_any_text_is_e164_or_a_value_error_and_normalizing_again_changes_nothing(raw: str, region: str) -> None:
    e164 = _normalized(raw, region)
    if e164 is None:
        return
    assert E164.match(e164), e164
    assert normalize(e164, region) == e164
    assert normalize(e164, "US") == e164  # with '+', the default region no longer matters
    key = match_key(e164)
    assert key.isdigit() and match_key("+" + key) == key


@given(number=real_numbers(), data=st.data())
def test_every_spelling_of_a_number_and_its_wa_id_normalize_alike(number: str, data: st.DataObject) -> None:
    e164 = _normalized(number)
    assume(e164 is not None)
    assert normalize(e164.removeprefix("+")) == e164  # WhatsApp's wa_id
    spelling = data.draw(spelled(e164))
    if spelling.startswith("+"):
        assert normalize(spelling, data.draw(regions)) == e164


@given(area=st.sampled_from(BR_AREAS), first=st.sampled_from("6789"), rest=seven_digits)
def test_both_forms_of_a_brazilian_mobile_are_one_person(area: int, first: str, rest: str) -> None:
    modern, old = f"+55{area}9{first}{rest}", f"+55{area}{first}{rest}"
    assume(phonenumbers.is_valid_number(phonenumbers.parse(modern)))
    # Each form is kept as given, and each one's key finds the other.
    assert (normalize(modern), normalize(old)) == (modern, old)
    assert match_key(normalize(old)) == match_key(normalize(modern)) == modern.removeprefix("+")
    # The same with WhatsApp's wa_id spelling and a national spelling.
    assert match_key(normalize(old.removeprefix("+"))) == match_key(normalize(f"({area}) 9{first}{rest[:3]}-{rest[3:]}"))


@given(area=st.sampled_from(BR_AREAS), first=st.sampled_from("2345"), rest=seven_digits)
def test_a_brazilian_landline_never_gains_a_9(area: int, first: str, rest: str) -> None:
    landline = _normalized(f"+55{area}{first}{rest}")
    assume(landline is not None)
    assert match_key(landline) == landline.removeprefix("+")
    assert match_key(landline) != match_key(_normalized(f"+55{area}9{first}{rest}") or "+1")
