"""Phone numbers: E.164 normalization and Brazil's 9th-digit equivalence.

Brazil added a leading 9 to every mobile number (2012-2016), but WhatsApp still reports many older
accounts by their 8-digit form (wa_id "551187654321" for +55 11 98765-4321). Both forms are one person,
so contacts are matched by `match_key`, which always carries the 9.
"""

from __future__ import annotations

import phonenumbers

BRAZIL_COUNTRY_CODE = 55
# Mobile subscriber numbers started with 6-9 before the 9th digit was prepended.
_BR_OLD_MOBILE_FIRST_DIGITS = frozenset("6789")


def normalize(raw: str, default_region: str = "BR") -> str:
    """`raw` as E.164 ("+5511987654321"), or ValueError saying why it is not a phone number.

    Accepts national forms for `default_region`, international forms with '+', and WhatsApp wa_ids
    (international digits without '+'). Brazilian mobiles without the 9th digit are kept as given.
    """
    text = (raw or "").strip()
    if not text:
        raise ValueError("Phone number is blank")
    candidates = [text]
    digits = "".join(ch for ch in text if ch.isdigit())
    if not text.startswith("+") and digits == text.replace(" ", ""):
        candidates.append("+" + digits)  # a wa_id: the country code without '+'
    for candidate in candidates:
        number = _parse(candidate, default_region)
        if number is not None and (phonenumbers.is_valid_number(number) or _with_ninth_digit(number) is not None):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise ValueError(f"{text!r} is not a valid phone number")


def match_key(e164: str) -> str:
    """Digits of the number with Brazil's 9th digit restored: equal for both forms of one mobile."""
    number = _parse(e164, None)
    if number is None:
        raise ValueError(f"{e164!r} is not an E.164 phone number")
    canonical = _with_ninth_digit(number) or number
    return f"{canonical.country_code}{canonical.national_number}"


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _with_ninth_digit(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber | None:
    """The 9-digit form of an old 8-digit Brazilian mobile, or None when `number` is not one."""
    national = str(number.national_number)
    if number.country_code != BRAZIL_COUNTRY_CODE or len(national) != 10:
        return None
    area, subscriber = national[:2], national[2:]
    if subscriber[0] not in _BR_OLD_MOBILE_FIRST_DIGITS:
        return None
    modern = phonenumbers.PhoneNumber(country_code=BRAZIL_COUNTRY_CODE, national_number=int(f"{area}9{subscriber}"))
    return modern if phonenumbers.is_valid_number(modern) else None
