"""Phone numbers visitors give (a safe number for an intake, a callback): validated, in E.164."""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

DEFAULT_REGION = "SE"
CALLABLE_TYPES = frozenset({
    PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.VOIP, PhoneNumberType.PERSONAL_NUMBER,
})
"""Numbers a person answers. Premium-rate, shared-cost and pager numbers are refused: calling
one would cost the service, or reach no one."""


def normalise(typed: str) -> str | None:
    """The number in E.164 (Sweden unless it has a country code), or None when it is not a
    valid number a person can be called on."""
    try:
        number = phonenumbers.parse(typed, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in CALLABLE_TYPES:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def for_dialling(e164: str) -> str:
    """How staff read the number to dial it: national form for Swedish numbers, else international."""
    number = phonenumbers.parse(e164, DEFAULT_REGION)
    style = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 46
             else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, style)
