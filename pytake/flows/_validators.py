"""Answer validators for ``ask`` nodes: each turns what the customer typed into a normalized
value, or says why it will not do.

===========  ==================================================================================
``text``     any non-empty text (``max_length`` optional); the value is the text, trimmed
``options``  one of ``options``, ignoring case, accents, extra spaces and end punctuation
             (``"nao"`` and ``"NÃO!"`` are ``"Não"``), or its 1-based number (``"2"``) when no
             option is itself a number; the value is the option as written in the flow
``regex``    ``pattern`` matches the whole answer (``ignore_case`` optional); the value is the
             trimmed answer. Patterns are checked when the flow is published: at most
             `REGEX_PATTERN_MAX` characters, no nested or alternating repetition without an
             atomic group, no backreferences; answers over `REGEX_INPUT_MAX` characters are
             refused unread, so no answer can make a pattern take exponential time
``number``   ``1234.56``, ``1.234,56``, ``1,5``, ``R$ 10``, ``-3``; ``min``/``max`` inclusive,
             ``integer`` to refuse fractions; the value is an ``int`` or a ``float``
``email``    ``local@domain.tld``; the value has the domain lower-cased
``date``     ``dd/mm/yyyy`` (also with ``-`` or ``.``) or ISO ``yyyy-mm-dd``; the value is ISO
``cpf``      11 digits with valid check digits, punctuation allowed (``529.982.247-25``);
             the value is the 11 digits
``cnpj``     14 characters with valid check digits, punctuation allowed; the first 12 may be
             letters (the alphanumeric CNPJ issued from July 2026); the value is the 14
             characters, upper-cased
===========  ==================================================================================

A number of 1 to 3 digits, a dot and exactly three digits (``1.500``) is read the Brazilian
way, as thousands (1500); ``0.125`` and ``1234.567`` are decimals.  Everything here is pure:
`check_answer` never raises on any text.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, ClassVar, Final, get_args

import attrs

from pytake.flows._problems import Code

__all__ = [
    "ANSWER_MAX",
    "REGEX_INPUT_MAX",
    "REGEX_PATTERN_MAX",
    "VALIDATORS",
    "Accepted",
    "AnswerValidator",
    "CnpjValidator",
    "CpfValidator",
    "DateValidator",
    "EmailValidator",
    "NumberValidator",
    "OptionsValidator",
    "RegexValidator",
    "Rejected",
    "TextValidator",
    "Verdict",
    "check_answer",
    "fold",
    "match_option",
    "normalize_cnpj",
    "normalize_cpf",
    "normalize_email",
    "parse_date",
    "parse_number",
    "regex_problem",
    "safe_search",
]

#: Longest regular expression a flow may hold.
REGEX_PATTERN_MAX: Final = 500
#: Longest text a regular expression is run on (longer answers are refused unread).
REGEX_INPUT_MAX: Final = 1000
#: Longest answer any validator reads (a WhatsApp text is at most 4096 characters).
ANSWER_MAX: Final = 4096


@attrs.frozen
class Accepted:
    """The answer is good; ``value`` is what goes into the variable."""

    value: Any


@attrs.frozen
class Rejected:
    """The answer will not do; ``reason`` says why (for logs and the flow author)."""

    reason: str


Verdict = Accepted | Rejected
RelativeProblem = tuple[str, str, Code]


# --- normalizers -------------------------------------------------------------------------------


def fold(text: str) -> str:
    """``text`` for loose comparison: no accents, case-folded, spaces collapsed, end
    punctuation dropped (``"  Não! "`` → ``"nao"``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split()).strip(" .,;:!?¡¿")


def match_option(text: str, options: Sequence[str]) -> str | None:
    """The option ``text`` means (as written in ``options``), or ``None``.

    Compared with `fold`; ``"2"`` means the second option unless some option is a number."""
    wanted = fold(text)
    folded = [fold(o) for o in options]
    for option, key in zip(options, folded, strict=True):
        if key == wanted:
            return option
    if re.fullmatch(r"[0-9]{1,3}", wanted) and not any(k.isdigit() for k in folded):
        index = int(wanted)
        if 1 <= index <= len(options):
            return options[index - 1]
    return None


_NUMBER_CHARS: Final = re.compile(r"^[+-]?[0-9.,]+$")


def _grouped(int_part: str, separator: str) -> bool:
    """Whether ``int_part`` is digits grouped by three with ``separator`` (``1.234.567``)."""
    grouped = r"[0-9]{1,3}(?:" + re.escape(separator) + r"[0-9]{3})+"
    return re.fullmatch(grouped, int_part) is not None


def parse_number(text: str) -> int | float | None:
    """The number in ``text`` (Brazilian or international notation), or ``None``.

    ``"1.234,56"`` and ``"1,234.56"`` and ``"1234.56"`` → 1234.56; ``"1,5"`` → 1.5;
    ``"1.500"`` → 1500 (Brazilian thousands); ``"R$ 10"`` → 10; ``"-3"`` → -3.
    An ``int`` when there is no fractional part."""
    s = text.strip().replace("\u00a0", "").replace(" ", "")
    s = s.removeprefix("R$").removeprefix("r$")
    if not s or len(s) > 40 or not _NUMBER_CHARS.match(s):
        return None
    sign = ""
    if s[0] in "+-":
        sign, s = s[0], s[1:]
    split = True  # whether a decimal separator was found (then digits must follow it)
    if "," in s and "." in s:
        decimal = "," if s.rfind(",") > s.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        int_part, frac = s.rsplit(decimal, 1)
        if not _grouped(int_part, thousands):
            return None
        int_part = int_part.replace(thousands, "")
    elif s.count(",") > 1 or s.count(".") > 1:
        separator = "," if "," in s else "."
        if not _grouped(s, separator):
            return None
        int_part, frac, split = s.replace(separator, ""), "", False
    elif "," in s or "." in s:
        int_part, frac = re.split(r"[,.]", s)
        if "." in s and len(frac) == 3 and 1 <= len(int_part) <= 3 and int_part.lstrip("0"):
            int_part, frac, split = int_part + frac, "", False  # "1.500": Brazilian thousands
    else:
        int_part, frac, split = s, "", False
    if (split and not frac) or not (int_part or frac):
        return None
    if not (int_part or "0").isdigit() or not (frac or "0").isdigit():
        return None
    if frac.strip("0"):
        return float(f"{sign}{int_part or '0'}.{frac}")
    return int(f"{sign}{int_part or '0'}")


_EMAIL: Final = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$"
)


def normalize_email(text: str) -> str | None:
    """``text`` as an e-mail address with its domain lower-cased, or ``None``."""
    s = text.strip()
    if len(s) > 254 or not _EMAIL.match(s):
        return None
    local, domain = s.rsplit("@", 1)
    if len(local) > 64:
        return None
    return f"{local}@{domain.lower()}"


_DMY: Final = re.compile(r"^([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})$")
_ISO_DATE: Final = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")


def parse_date(text: str) -> str | None:
    """The date in ``text`` (``dd/mm/yyyy``, ``dd-mm-yyyy``, ``dd.mm.yyyy`` or ISO) as ISO
    ``yyyy-mm-dd``, or ``None`` (also for impossible dates such as 31/02)."""
    s = text.strip()
    if m := _ISO_DATE.match(s):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := _DMY.match(s):
        day, month, year = int(m[1]), int(m[3]), int(m[4])
    else:
        return None
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return None


_DOCUMENT_PUNCTUATION: Final = re.compile(r"[\s./-]")


def _mod11(values: Sequence[int], weights: Sequence[int]) -> int:
    remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def _cpf_problem(text: str) -> tuple[str | None, str | None]:
    digits = _DOCUMENT_PUNCTUATION.sub("", text)
    if not re.fullmatch(r"[0-9]{11}", digits):
        return None, "a CPF has 11 digits"
    if len(set(digits)) == 1:
        return None, "a CPF cannot be one digit repeated"
    values = [int(c) for c in digits]
    first = _mod11(values[:9], range(10, 1, -1))
    second = _mod11(values[:10], range(11, 1, -1))
    if values[9:] != [first, second]:
        return None, "the CPF's check digits do not match"
    return digits, None


def normalize_cpf(text: str) -> str | None:
    """The 11 digits of the CPF in ``text`` (punctuation allowed) if its check digits are
    right and it is not one digit repeated; else ``None``."""
    return _cpf_problem(text)[0]


_CNPJ_WEIGHTS: Final = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def _cnpj_problem(text: str) -> tuple[str | None, str | None]:
    chars = _DOCUMENT_PUNCTUATION.sub("", text).upper()
    if not re.fullmatch(r"[0-9A-Z]{12}[0-9]{2}", chars):
        return None, "a CNPJ has 14 characters (12 digits or letters, then 2 digits)"
    if len(set(chars)) == 1:
        return None, "a CNPJ cannot be one digit repeated"
    # The alphanumeric CNPJ counts each character as its code minus 48 ("0" → 0, "A" → 17),
    # which leaves the all-digit CNPJ computed exactly as before.
    values = [ord(c) - 48 for c in chars]
    first = _mod11(values[:12], _CNPJ_WEIGHTS[1:])
    second = _mod11(values[:13], _CNPJ_WEIGHTS)
    if values[12:] != [first, second]:
        return None, "the CNPJ's check digits do not match"
    return chars, None


def normalize_cnpj(text: str) -> str | None:
    """The 14 characters of the CNPJ in ``text`` (punctuation allowed, upper-cased) if its
    check digits are right and it is not one character repeated; else ``None``."""
    return _cnpj_problem(text)[0]


# --- regular expressions -----------------------------------------------------------------------

_QUANTIFIER: Final = re.compile(r"\*|\+|\?|\{([0-9]*)(,?)([0-9]*)\}")
#: A repeated group with bounded variation inside (``(a?){4}``) is allowed up to this count.
_SMALL_REPEAT: Final = 4


def _bounds(match: re.Match[str] | None) -> tuple[int, int | None] | None:
    """(min, max) of the quantifier ``match``; max ``None`` when unbounded."""
    if match is None:
        return None
    quantifier = match.group(0)
    if quantifier in ("*", "+", "?"):
        return {"*": (0, None), "+": (1, None), "?": (0, 1)}[quantifier]
    low, comma, high = match.groups()
    if not low and not high:
        return None  # "{}" and "{,}" are literal text
    lowest = int(low or 0)
    if not comma:
        return lowest, lowest
    return lowest, int(high) if high else None


@attrs.define
class _Group:
    atomic: bool = False
    unbounded: bool = False  # something inside repeats without bound (*, +, {m,})
    variable: bool = False  # something inside varies within bounds (?, {m,n}) or alternates


def _after_open(pattern: str, i: int) -> int:
    """The index just past the opening of the group at ``i`` (``(``, ``(?:``, ``(?P<n>`` ...)."""
    if not pattern.startswith("(?", i):
        return i + 1
    if pattern.startswith("(?P<", i):
        return pattern.find(">", i) + 1
    if pattern.startswith(("(?<=", "(?<!"), i):
        return i + 4
    j = i + 2
    while j < len(pattern) and pattern[j] in ":=!>aiLmsux-":
        j += 1
        if pattern[j - 1] in ":=!>":
            break
    return j


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` may not be used in a flow, or ``None``.

    It must compile, have at most `REGEX_PATTERN_MAX` characters and use no backreferences;
    and a group may not be repeated when something inside it repeats without bound
    (``(a+)+``, ``(a+){2}``), nor be repeated more than a few times (or without bound) when
    something inside it varies or alternates (``(a|aa)*``, ``(a?){30}``), unless the group is
    atomic (``(?>...)``) or the repetition possessive (``*+``, ``{2}+``).  Those are the
    shapes that make a backtracking engine take exponential (or huge polynomial) time.  The
    check is a conservative heuristic over the pattern's text: ``\\d{3}\\.?\\d{3}`` and
    ``(\\d{3}\\.?){3}`` pass.
    """
    if not isinstance(pattern, str):
        return "a pattern is a string"
    if len(pattern) > REGEX_PATTERN_MAX:
        return f"at most {REGEX_PATTERN_MAX} characters, got {len(pattern)}"
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"does not compile: {exc}"
    stack = [_Group()]
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 < n and pattern[i + 1] in "123456789":
                return "backreferences are not allowed"
            i += 2
            continue
        if c == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
            continue
        if c == "(":
            if pattern.startswith("(?P=", i):
                return "backreferences are not allowed"
            stack.append(_Group(atomic=pattern.startswith("(?>", i)))
            i = _after_open(pattern, i)
            continue
        if c == "|":
            stack[-1].variable = True
            i += 1
            continue
        if c == ")" and len(stack) > 1:
            group = stack.pop()
            parent = stack[-1]
            parent.unbounded |= group.unbounded
            parent.variable |= group.variable
            i += 1
            quantifier = _QUANTIFIER.match(pattern, i)
            bounds = _bounds(quantifier)
            if quantifier is None or bounds is None:
                continue
            low, high = bounds
            end = quantifier.end()
            possessive = end < n and pattern[end] == "+"
            if not (group.atomic or possessive):
                if group.unbounded and (high is None or high >= 2):
                    return _exponential(pattern, end, "repeats without bound")
                if group.variable and (high is None or high > _SMALL_REPEAT):
                    return _exponential(pattern, end, "varies or alternates")
            parent.unbounded |= high is None
            parent.variable |= high is not None and low != high
            i = end + (1 if end < n and pattern[end] in "?+" else 0)
            continue
        bounds = _bounds(quantifier := _QUANTIFIER.match(pattern, i))
        if quantifier is not None and bounds is not None:
            low, high = bounds
            stack[-1].unbounded |= high is None
            stack[-1].variable |= high is not None and low != high
            end = quantifier.end()
            i = end + (1 if end < n and pattern[end] in "?+" else 0)
            continue
        i += 1
    return None


def _exponential(pattern: str, end: int, what: str) -> str:
    return (
        f"a repeated group in which something {what} ({pattern[:end][-40:]!r}) can take "
        "exponential time on a non-matching answer; make the group atomic with (?>...) or "
        "the repetition possessive (*+, ++)"
    )


@lru_cache(maxsize=256)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str] | None:
    if regex_problem(pattern) is not None:
        return None
    return re.compile(pattern, re.IGNORECASE if ignore_case else 0)


def safe_search(pattern: str, text: str, *, ignore_case: bool = False, full: bool = False) -> bool:
    """Whether ``pattern`` matches ``text`` (anywhere, or the whole of it with ``full``).

    ``False`` for a pattern `regex_problem` refuses and for text over `REGEX_INPUT_MAX`
    characters; never raises."""
    if not isinstance(text, str) or len(text) > REGEX_INPUT_MAX:
        return False
    compiled = _compiled(pattern, ignore_case) if isinstance(pattern, str) else None
    if compiled is None:
        return False
    found = compiled.fullmatch(text) if full else compiled.search(text)
    return found is not None


# --- the validators ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TextValidator:
    """Any non-empty answer, at most ``max_length`` characters."""

    TYPE: ClassVar[str] = "text"
    max_length: int | None = None

    def check(self, text: str) -> Verdict:
        s = text.strip()
        if not s:
            return Rejected("the answer is empty")
        if self.max_length is not None and len(s) > self.max_length:
            return Rejected(f"at most {self.max_length} characters, got {len(s)}")
        return Accepted(s)

    def problems(self) -> list[RelativeProblem]:
        if self.max_length is not None and not 1 <= self.max_length <= ANSWER_MAX:
            return [("max_length", f"between 1 and {ANSWER_MAX}", Code.BAD_VALUE)]
        return []


@attrs.frozen(kw_only=True)
class OptionsValidator:
    """One of ``options`` (see `match_option`)."""

    TYPE: ClassVar[str] = "options"
    options: tuple[str, ...]

    def check(self, text: str) -> Verdict:
        option = match_option(text, self.options)
        if option is None:
            return Rejected("not one of the options: " + ", ".join(self.options))
        return Accepted(option)

    def problems(self) -> list[RelativeProblem]:
        if not self.options:
            return [("options", "needs at least one option", Code.BAD_VALUE)]
        found: list[RelativeProblem] = []
        seen: dict[str, int] = {}
        for i, option in enumerate(self.options):
            key = fold(option)
            if not key:
                found.append((f"options[{i}]", "must not be empty", Code.BAD_VALUE))
            elif key in seen:
                found.append((
                    f"options[{i}]",
                    f"{option!r} is the same answer as options[{seen[key]}] "
                    "(case, accents and punctuation are ignored)",
                    Code.BAD_VALUE,
                ))
            seen.setdefault(key, i)
        return found


@attrs.frozen(kw_only=True)
class RegexValidator:
    """``pattern`` matches the whole answer."""

    TYPE: ClassVar[str] = "regex"
    pattern: str
    ignore_case: bool = False

    def check(self, text: str) -> Verdict:
        s = text.strip()
        if len(s) > REGEX_INPUT_MAX:
            return Rejected(f"at most {REGEX_INPUT_MAX} characters, got {len(s)}")
        if not safe_search(self.pattern, s, ignore_case=self.ignore_case, full=True):
            return Rejected("does not have the expected form")
        return Accepted(s)

    def problems(self) -> list[RelativeProblem]:
        problem = regex_problem(self.pattern)
        return [("pattern", problem, Code.BAD_REGEX)] if problem else []


@attrs.frozen(kw_only=True)
class NumberValidator:
    """A number between ``min`` and ``max`` (inclusive, each optional)."""

    TYPE: ClassVar[str] = "number"
    min: float | None = None
    max: float | None = None
    integer: bool = False

    def check(self, text: str) -> Verdict:
        number = parse_number(text)
        if number is None:
            return Rejected("not a number")
        if self.integer and not isinstance(number, int):
            return Rejected("must be a whole number")
        if self.min is not None and number < self.min:
            return Rejected(f"must be at least {self.min:g}")
        if self.max is not None and number > self.max:
            return Rejected(f"must be at most {self.max:g}")
        return Accepted(number)

    def problems(self) -> list[RelativeProblem]:
        if self.min is not None and self.max is not None and self.min > self.max:
            return [("max", f"is below min ({self.min:g})", Code.BAD_VALUE)]
        return []


@attrs.frozen(kw_only=True)
class EmailValidator:
    """An e-mail address."""

    TYPE: ClassVar[str] = "email"

    def check(self, text: str) -> Verdict:
        email = normalize_email(text)
        return Rejected("not an e-mail address") if email is None else Accepted(email)

    def problems(self) -> list[RelativeProblem]:
        return []


@attrs.frozen(kw_only=True)
class DateValidator:
    """A calendar date; the value is ISO ``yyyy-mm-dd``."""

    TYPE: ClassVar[str] = "date"

    def check(self, text: str) -> Verdict:
        date = parse_date(text)
        if date is None:
            return Rejected("not a date (dd/mm/yyyy or yyyy-mm-dd)")
        return Accepted(date)

    def problems(self) -> list[RelativeProblem]:
        return []


@attrs.frozen(kw_only=True)
class CpfValidator:
    """A Brazilian CPF; the value is its 11 digits."""

    TYPE: ClassVar[str] = "cpf"

    def check(self, text: str) -> Verdict:
        digits, reason = _cpf_problem(text)
        return Accepted(digits) if digits is not None else Rejected(reason or "not a CPF")

    def problems(self) -> list[RelativeProblem]:
        return []


@attrs.frozen(kw_only=True)
class CnpjValidator:
    """A Brazilian CNPJ (numeric or alphanumeric); the value is its 14 characters."""

    TYPE: ClassVar[str] = "cnpj"

    def check(self, text: str) -> Verdict:
        chars, reason = _cnpj_problem(text)
        return Accepted(chars) if chars is not None else Rejected(reason or "not a CNPJ")

    def problems(self) -> list[RelativeProblem]:
        return []


AnswerValidator = (
    TextValidator
    | OptionsValidator
    | RegexValidator
    | NumberValidator
    | EmailValidator
    | DateValidator
    | CpfValidator
    | CnpjValidator
)

#: Every validator class by its ``type``.
VALIDATORS: Final[dict[str, type[AnswerValidator]]] = {
    cls.TYPE: cls for cls in get_args(AnswerValidator)
}


def check_answer(validator: AnswerValidator | None, text: str) -> Verdict:
    """``text`` checked by ``validator`` (any non-empty text when ``None``). Never raises."""
    if not isinstance(text, str):
        return Rejected("the answer is not text")
    if len(text) > ANSWER_MAX:
        return Rejected(f"at most {ANSWER_MAX} characters, got {len(text)}")
    try:
        return (validator or TextValidator()).check(text)
    except Exception as exc:  # a validator bug must cost one answer, not the conversation
        return Rejected(f"could not be checked ({type(exc).__name__})")
