"""Brazilian payment identifiers, as pure functions: bank slip digitable lines (FEBRABAN), CPF
and CNPJ check digits.

**The digitable line** ("linha digitável") of a bank slip ("boleto de cobrança") has 47
digits in five fields::

    AAABC.CCCCX DDDDD.DDDDDY EEEEE.EEEEEZ K UUUUVVVVVVVVVV

- ``AAA`` bank, ``B`` currency (9 = real), ``C...`` the first 5 digits of the 25-digit free
  field, ``X`` its check digit (mod 10);
- ``D...`` free field digits 6-15, ``Y`` their check digit (mod 10);
- ``E...`` free field digits 16-25, ``Z`` their check digit (mod 10);
- ``K`` the general check digit: the barcode's, mod 11 over the other 43 barcode digits;
- ``UUUU`` due-date factor (days since the base date; 0000 for none), ``V...`` the amount in
  cents (zeros when the slip leaves it open).

The 44-digit barcode it stands for is ``AAAB K UUUU VVVVVVVVVV`` + the free field.

Mod 10: digits from the right weighted 2, 1, 2, ...; the digits of each product are summed;
the check digit is ``(10 - sum % 10) % 10``. Mod 11: digits from the right weighted 2..9,
cycling; ``11 - sum % 11``, where 0, 10 and 11 become 1.

Due-date factors count days from 1997-10-07; factor 9999 fell on 2025-02-21, and from
2025-02-22 the count restarted at 1000. A factor therefore names two dates ~9000 days apart;
`DigitableLine.due_date` picks the one nearer the reference date.

**CPF** (11 digits) and **CNPJ** (14 characters) end in two mod 11 check digits. Since July
2026 a CNPJ's first 12 characters may be letters as well as digits; each character counts as
its ASCII code minus 48, so ``"0"`` is 0 and ``"A"`` is 17, and the check digits stay digits.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

import attrs

from pytake.errors import ModuleError

__all__ = [
    "DigitableLine",
    "InvalidDigitableLine",
    "format_document",
    "make_digitable_line",
    "mod10",
    "mod11",
    "normalize_document",
    "parse_digitable_line",
    "valid_cnpj",
    "valid_cpf",
]

_OLD_BASE: Final = dt.date(1997, 10, 7)
_NEW_CYCLE_START: Final = dt.date(2025, 2, 22)  # factor 1000 again


class InvalidDigitableLine(ModuleError, ValueError):
    """The text is not a valid 47-digit bank slip line; the message says which part fails."""


def mod10(digits: str) -> int:
    """The FEBRABAN mod 10 check digit of ``digits``."""
    total = 0
    weight = 2
    for char in reversed(digits):
        product = int(char) * weight
        total += product // 10 + product % 10
        weight = 3 - weight
    return (10 - total % 10) % 10


def mod11(digits: str) -> int:
    """The FEBRABAN mod 11 check digit of a barcode's 43 other digits."""
    total = 0
    weight = 2
    for char in reversed(digits):
        total += int(char) * weight
        weight = 2 if weight == 9 else weight + 1
    check = 11 - total % 11
    return 1 if check in (0, 10, 11) else check


@attrs.frozen
class DigitableLine:
    """A bank slip line whose check digits are all right (build it with
    `parse_digitable_line`)."""

    #: The 47 digits.
    digits: str

    @property
    def bank(self) -> str:
        return self.digits[0:3]

    @property
    def currency(self) -> str:
        return self.digits[3]

    @property
    def due_factor(self) -> int:
        return int(self.digits[33:37])

    @property
    def amount_cents(self) -> int:
        """The amount in cents; 0 when the slip leaves it to the payer."""
        return int(self.digits[37:47])

    @property
    def free_field(self) -> str:
        d = self.digits
        return d[4:9] + d[10:20] + d[21:31]

    @property
    def barcode(self) -> str:
        """The 44-digit barcode the line stands for."""
        d = self.digits
        return d[0:4] + d[32] + d[33:47] + self.free_field

    @property
    def formatted(self) -> str:
        """As printed on slips: ``AAABC.CCCCX DDDDD.DDDDDY EEEEE.EEEEEZ K UUUUVVVVVVVVVV``."""
        d = self.digits
        return (
            f"{d[0:5]}.{d[5:10]} {d[10:15]}.{d[15:21]} {d[21:26]}.{d[26:32]} {d[32]} {d[33:47]}"
        )

    def due_date(self, reference: dt.date | None = None) -> dt.date | None:
        """The due date the factor names (the candidate nearer ``reference``, today by
        default), or ``None`` for factor 0000 (no due date)."""
        factor = self.due_factor
        if factor == 0:
            return None
        reference = reference or dt.date.today()
        candidates = [_OLD_BASE + dt.timedelta(days=factor)]
        if factor >= 1000:
            candidates.append(_NEW_CYCLE_START + dt.timedelta(days=factor - 1000))
        return min(candidates, key=lambda d: abs((d - reference).days))


def parse_digitable_line(text: str) -> DigitableLine:
    """The line in ``text`` (dots, spaces and dashes allowed), with every check digit verified.

    Raises `InvalidDigitableLine` naming what is wrong: the length, a field's check digit
    (mod 10) or the general check digit (mod 11).
    """
    digits = re.sub(r"[\s.\-]", "", text)
    if not digits.isdigit() or not digits.isascii():
        raise InvalidDigitableLine("a digitable line has only digits (and . - spaces)")
    if len(digits) != 47:
        hint = " (48 digits is a utility or tax slip, not a bank slip)" if len(digits) == 48 else ""
        raise InvalidDigitableLine(f"a bank slip line has 47 digits, got {len(digits)}{hint}")
    for number, (start, end) in enumerate(((0, 9), (10, 20), (21, 31)), start=1):
        if mod10(digits[start:end]) != int(digits[end]):
            raise InvalidDigitableLine(f"field {number}: wrong check digit (mod 10)")
    line = DigitableLine(digits)
    barcode = line.barcode
    if mod11(barcode[:4] + barcode[5:]) != int(barcode[4]):
        raise InvalidDigitableLine("wrong general check digit (mod 11)")
    return line


def make_digitable_line(
    *, bank: str, amount_cents: int, due_factor: int, free_field: str, currency: str = "9"
) -> DigitableLine:
    """The valid line for these parts (for stand-ins and tests)."""
    if not (len(bank) == 3 and bank.isdigit() and len(free_field) == 25 and free_field.isdigit()):
        raise ValueError("bank has 3 digits and free_field 25")
    if not (0 <= amount_cents < 10**10 and 0 <= due_factor <= 9999):
        raise ValueError("amount_cents or due_factor out of range")
    tail = f"{due_factor:04d}{amount_cents:010d}"
    without_check = bank + currency + tail + free_field
    check = mod11(without_check)
    field1 = bank + currency + free_field[0:5]
    field2 = free_field[5:15]
    field3 = free_field[15:25]
    digits = (
        f"{field1}{mod10(field1)}{field2}{mod10(field2)}{field3}{mod10(field3)}{check}{tail}"
    )
    return parse_digitable_line(digits)


def due_factor_for(date: dt.date) -> int:
    """The due-date factor of ``date`` (from 2000-07-03 on; the new cycle from 2025-02-22)."""
    if date >= _NEW_CYCLE_START:
        factor = 1000 + (date - _NEW_CYCLE_START).days
    else:
        factor = (date - _OLD_BASE).days
    if not 1000 <= factor <= 9999:
        raise ValueError(f"{date} has no due-date factor")
    return factor


# --- CPF and CNPJ ----------------------------------------------------------------------------


def normalize_document(text: str) -> str:
    """A CPF or CNPJ without punctuation, letters upper-cased."""
    return re.sub(r"[\s./\-]", "", text).upper()


def _check_digits(base: str, weights: list[int]) -> int:
    total = sum((ord(char) - 48) * weight for char, weight in zip(base, weights, strict=True))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def valid_cpf(text: str) -> bool:
    """Whether ``text`` is a CPF with the right check digits (punctuation allowed).

    Numbers of one repeated digit (000.000.000-00, ...) pass the arithmetic but are invalid.
    """
    digits = normalize_document(text)
    if len(digits) != 11 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    first = _check_digits(digits[:9], list(range(10, 1, -1)))
    second = _check_digits(digits[:10], list(range(11, 1, -1)))
    return digits[9:] == f"{first}{second}"


_CNPJ_WEIGHTS_1: Final = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
_CNPJ_WEIGHTS_2: Final = [6, *_CNPJ_WEIGHTS_1]
_CNPJ: Final = re.compile(r"^[0-9A-Z]{12}[0-9]{2}$")


def valid_cnpj(text: str) -> bool:
    """Whether ``text`` is a CNPJ (numeric or alphanumeric) with the right check digits."""
    value = normalize_document(text)
    if not _CNPJ.match(value) or len(set(value)) == 1:
        return False
    first = _check_digits(value[:12], _CNPJ_WEIGHTS_1)
    second = _check_digits(value[:12] + str(first), _CNPJ_WEIGHTS_2)
    return value[12:] == f"{first}{second}"


def format_document(text: str) -> str:
    """A valid CPF or CNPJ with its usual punctuation (for messages)."""
    v = normalize_document(text)
    if len(v) == 11:
        return f"{v[0:3]}.{v[3:6]}.{v[6:9]}-{v[9:11]}"
    if len(v) == 14:
        return f"{v[0:2]}.{v[2:5]}.{v[5:8]}/{v[8:12]}-{v[12:14]}"
    return v
