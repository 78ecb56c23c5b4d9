"""The ``ask`` validators: each accepts and normalizes the right answers and refuses the rest;
CPF and CNPJ check digits (numeric and alphanumeric CNPJ) against an independent computation;
regular expressions that could backtrack exponentially are refused; nothing ever raises."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytake.flows import (
    REGEX_INPUT_MAX,
    VALIDATORS,
    Accepted,
    CnpjValidator,
    CpfValidator,
    DateValidator,
    EmailValidator,
    NumberValidator,
    OptionsValidator,
    RegexValidator,
    Rejected,
    TextValidator,
    check_answer,
    match_option,
    normalize_cnpj,
    normalize_cpf,
    parse_date,
    parse_number,
    regex_problem,
)

# --- CPF -----------------------------------------------------------------------------------------


def cpf_check_digit(digits: list[int]) -> int:
    """The check digit that follows ``digits`` (9 for the first, 10 for the second), by
    Receita Federal's rule written out: weights count down to 2, sum times 10 mod 11 mod 10."""
    weights = range(len(digits) + 1, 1, -1)
    return sum(d * w for d, w in zip(digits, weights, strict=True)) * 10 % 11 % 10


def cpf_check_digits(base: str) -> str:
    """The two check digits of the 9-digit ``base``."""
    digits = [int(c) for c in base]
    first = cpf_check_digit(digits)
    return f"{first}{cpf_check_digit([*digits, first])}"


@pytest.mark.parametrize(("text", "digits"), [
    ("529.982.247-25", "52998224725"),
    ("52998224725", "52998224725"),
    (" 111.444.777-35 ", "11144477735"),
    ("111 444 777 35", "11144477735"),
    ("390.533.447-05", "39053344705"),
])
def test_valid_cpf(text: str, digits: str) -> None:
    assert normalize_cpf(text) == digits
    assert check_answer(CpfValidator(), text) == Accepted(digits)


@pytest.mark.parametrize(("text", "reason"), [
    ("529.982.247-24", "check digits"),  # only the second check digit is wrong
    ("529.982.247-09", "check digits"),  # only the first: 9 is right after 529982247 0
    ("529.982.247-52", "check digits"),
    ("111.111.111-11", "repeated"),
    ("000.000.000-00", "repeated"),
    ("5299822472", "11 digits"),
    ("529982247250", "11 digits"),
    ("529.982.247-2a", "11 digits"),
    ("", "11 digits"),
    ("meu cpf é 52998224725", "11 digits"),
])
def test_invalid_cpf(text: str, reason: str) -> None:
    assert normalize_cpf(text) is None
    verdict = check_answer(CpfValidator(), text)
    assert isinstance(verdict, Rejected) and reason in verdict.reason


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_cpf_round_trip(base: str) -> None:
    cpf = base + cpf_check_digits(base)
    formatted = f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"
    expected = None if len(set(cpf)) == 1 else cpf
    assert normalize_cpf(formatted) == expected
    assert normalize_cpf(cpf) == expected
    wrong = cpf[:10] + str((int(cpf[10]) + 1) % 10)
    assert normalize_cpf(wrong) is None


@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.integers(1, 9))
def test_cpf_first_check_digit_is_compared(base: str, shift: int) -> None:
    """A wrong first check digit followed by the second digit that is right for it: only the
    comparison of the first digit can refuse this one."""
    first = (int(cpf_check_digits(base)[0]) + shift) % 10
    digits = [int(c) for c in base] + [first]
    assert normalize_cpf(f"{base}{first}{cpf_check_digit(digits)}") is None


@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.integers(1, 9))
def test_cpf_second_check_digit_is_compared(base: str, shift: int) -> None:
    right = cpf_check_digits(base)
    assert normalize_cpf(f"{base}{right[0]}{(int(right[1]) + shift) % 10}") is None


# --- CNPJ ----------------------------------------------------------------------------------------


def cnpj_check_digit(chars: str) -> int:
    """The check digit that follows ``chars`` (12 characters for the first, 13 for the second;
    a character counts as its code minus 48): weights 2..9 cycling from the right, mod 11."""
    values = [ord(c) - 48 for c in chars]
    weights = [2 + i % 8 for i in range(len(values))][::-1]
    remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def cnpj_check_digits(base: str) -> str:
    """The two check digits of the 12-character ``base``."""
    first = cnpj_check_digit(base)
    return f"{first}{cnpj_check_digit(base + str(first))}"


@pytest.mark.parametrize(("text", "chars"), [
    ("11.222.333/0001-81", "11222333000181"),
    ("11222333000181", "11222333000181"),
    ("33.000.167/0001-01", "33000167000101"),
    ("12.ABC.345/01DE-35", "12ABC34501DE35"),  # Receita Federal's alphanumeric example
    ("12.abc.345/01de-35", "12ABC34501DE35"),
])
def test_valid_cnpj(text: str, chars: str) -> None:
    assert normalize_cnpj(text) == chars
    assert check_answer(CnpjValidator(), text) == Accepted(chars)


@pytest.mark.parametrize(("text", "reason"), [
    ("11.222.333/0001-82", "check digits"),  # only the second check digit is wrong
    ("11.222.333/0001-06", "check digits"),  # only the first: 6 is right after 112223330001 0
    ("12.ABC.345/01DE-36", "check digits"),
    ("00.000.000/0000-00", "repeated"),
    ("11.222.333/0001-8", "14 characters"),
    ("11.222.333/0001-8A", "14 characters"),
    ("11.222.333/0001@81", "14 characters"),
])
def test_invalid_cnpj(text: str, reason: str) -> None:
    assert normalize_cnpj(text) is None
    verdict = check_answer(CnpjValidator(), text)
    assert isinstance(verdict, Rejected) and reason in verdict.reason


_CNPJ_BASE = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=12, max_size=12)


@given(_CNPJ_BASE)
def test_cnpj_round_trip(base: str) -> None:
    cnpj = base + cnpj_check_digits(base)
    formatted = f"{cnpj[:2]}.{cnpj[2:5]}.{cnpj[5:8]}/{cnpj[8:12]}-{cnpj[12:]}"
    expected = None if len(set(cnpj)) == 1 else cnpj
    assert normalize_cnpj(formatted.lower()) == expected
    wrong = cnpj[:13] + str((int(cnpj[13]) + 1) % 10)
    assert normalize_cnpj(wrong) is None


@given(_CNPJ_BASE, st.integers(1, 9))
def test_cnpj_first_check_digit_is_compared(base: str, shift: int) -> None:
    """A wrong first check digit followed by the second digit that is right for it (as in
    ``11.222.333/0001-06``): only the comparison of the first digit can refuse this one."""
    first = (int(cnpj_check_digits(base)[0]) + shift) % 10
    second = cnpj_check_digit(f"{base}{first}")
    assert normalize_cnpj(f"{base}{first}{second}") is None


@given(_CNPJ_BASE, st.integers(1, 9))
def test_cnpj_second_check_digit_is_compared(base: str, shift: int) -> None:
    right = cnpj_check_digits(base)
    assert normalize_cnpj(f"{base}{right[0]}{(int(right[1]) + shift) % 10}") is None


def test_cpf_is_not_a_cnpj() -> None:
    assert normalize_cnpj("529.982.247-25") is None
    assert normalize_cpf("11.222.333/0001-81") is None


# --- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "number"), [
    ("1234.56", 1234.56),
    ("1.234,56", 1234.56),
    ("1,234.56", 1234.56),
    ("1.234.567,89", 1234567.89),
    ("1,5", 1.5),
    (",5", 0.5),
    ("1.500", 1500),
    ("1.234.567", 1234567),
    ("1,234,567", 1234567),
    ("0.125", 0.125),
    ("1234.567", 1234.567),
    ("R$ 10", 10),
    ("R$ 1.234,50", 1234.5),
    ("-3", -3),
    ("+7", 7),
    ("10,00", 10),
    (" 42 ", 42),
])
def test_parse_number(text: str, number: float) -> None:
    parsed = parse_number(text)
    assert parsed == number
    assert isinstance(parsed, int) == isinstance(number, int)


@pytest.mark.parametrize("text", ["", "abc", "1,", "1.", ".", "1.2.3", "12,34.5", "1.23,4.5",
                                  "1,23,4", "--1", "1e5", "NaN", "inf", "١٢", "12 34 5x"])
def test_not_a_number(text: str) -> None:
    assert parse_number(text) is None


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=99))
def test_brazilian_and_international_amounts(whole: int, cents: int) -> None:
    grouped = f"{whole:,}"
    brazilian = grouped.replace(",", ".") + f",{cents:02d}"
    international = grouped + f".{cents:02d}"
    expected = whole + cents / 100
    assert parse_number(brazilian) == pytest.approx(expected)
    assert parse_number(international) == pytest.approx(expected)
    assert parse_number(str(whole)) == whole


def test_number_validator() -> None:
    rule = NumberValidator(min=1, max=10, integer=True)
    assert rule.check("3") == Accepted(3)
    assert rule.check("10") == Accepted(10)
    assert rule.check("3,5") == Rejected("must be a whole number")
    assert rule.check("0") == Rejected("must be at least 1")
    assert rule.check("11") == Rejected("must be at most 10")
    assert rule.check("three") == Rejected("not a number")
    assert NumberValidator().check("1.234,56") == Accepted(1234.56)


# --- e-mail, dates, options, text -----------------------------------------------------------------


@pytest.mark.parametrize(("text", "email"), [
    ("ana@example.com", "ana@example.com"),
    ("  Ana.Silva+boleto@Example.COM.br ", "Ana.Silva+boleto@example.com.br"),
    ("o'brien@mail.example.org", "o'brien@mail.example.org"),
])
def test_valid_email(text: str, email: str) -> None:
    assert check_answer(EmailValidator(), text) == Accepted(email)


@pytest.mark.parametrize("text", ["ana", "ana@", "@example.com", "ana@example", "ana@@x.com",
                                  "ana@example..com", ".ana@example.com", "ana.@example.com",
                                  "ana silva@example.com", "ana@-example.com", "ana@example.c",
                                  "a" * 65 + "@example.com", "ana@example.123"])
def test_invalid_email(text: str) -> None:
    assert isinstance(check_answer(EmailValidator(), text), Rejected)


@pytest.mark.parametrize(("text", "iso"), [
    ("05/01/2026", "2026-01-05"),
    ("5/1/2026", "2026-01-05"),
    ("29-02-2024", "2024-02-29"),
    ("31.12.2025", "2025-12-31"),
    ("2026-11-27", "2026-11-27"),
])
def test_valid_date(text: str, iso: str) -> None:
    assert parse_date(text) == iso
    assert check_answer(DateValidator(), text) == Accepted(iso)


@pytest.mark.parametrize("text", ["31/02/2026", "29/02/2025", "00/01/2026", "13/13/2026",
                                  "2026/11/27", "27/11/26", "05/01-2026", "amanhã", ""])
def test_invalid_date(text: str) -> None:
    assert parse_date(text) is None
    assert isinstance(check_answer(DateValidator(), text), Rejected)


def test_options_ignore_case_accents_and_punctuation() -> None:
    rule = OptionsValidator(options=("Sim", "Não", "Talvez depois"))
    assert rule.check("sim") == Accepted("Sim")
    assert rule.check("  NÃO! ") == Accepted("Não")
    assert rule.check("nao") == Accepted("Não")
    assert rule.check("talvez   DEPOIS.") == Accepted("Talvez depois")
    assert rule.check("2") == Accepted("Não")
    assert rule.check("4") == Rejected("not one of the options: Sim, Não, Talvez depois")
    assert isinstance(rule.check("s"), Rejected)


def test_numbered_options_are_not_indexes() -> None:
    assert match_option("1", ["10", "1", "5"]) == "1"
    assert match_option("2", ["10", "1", "5"]) is None
    assert match_option("\U00010a40", ["a", "b"]) is None  # a digit int() does not read


def test_text_validator() -> None:
    assert check_answer(None, "  oi  ") == Accepted("oi")
    assert check_answer(None, "   ") == Rejected("the answer is empty")
    assert check_answer(TextValidator(max_length=3), "abcd") == Rejected(
        "at most 3 characters, got 4"
    )


# --- regular expressions ------------------------------------------------------------------------


def test_regex_validator_matches_the_whole_answer() -> None:
    cep = RegexValidator(pattern=r"[0-9]{5}-?[0-9]{3}")
    assert cep.check(" 01310-100 ") == Accepted("01310-100")
    assert cep.check("01310100") == Accepted("01310100")
    assert isinstance(cep.check("CEP 01310-100"), Rejected)
    assert RegexValidator(pattern="sim|não", ignore_case=True).check("SIM") == Accepted("SIM")
    assert isinstance(cep.check("1" * (REGEX_INPUT_MAX + 1)), Rejected)


@pytest.mark.parametrize("pattern", [
    r"[0-9]{5}-?[0-9]{3}",
    r"\d{3}\.?\d{3}\.?\d{3}-?\d{2}",
    r"(\d{3}\.?){3}\d{2}",
    r"[A-Z]{3}-?\d[A-Z0-9]\d{2}",
    r"(?i)(sim|não)",
    r"(?>a+)+b",
    r"(a+)*+b",
    r"(ab)+",
    r"[(a+)]+",
    r"a{,3}b",
])
def test_safe_patterns(pattern: str) -> None:
    assert regex_problem(pattern) is None


@pytest.mark.parametrize(("pattern", "reason"), [
    ("(a+)+b", "exponential"),
    ("(a*)*b", "exponential"),
    ("((a+))+b", "exponential"),
    ("(x+x+)+y", "exponential"),
    ("(a+){2}b", "exponential"),
    ("(a|aa)*b", "exponential"),
    ("(a?){30}a{30}", "exponential"),
    (r"(\w+)\1", "backreferences"),
    (r"(?P<x>a)(?P=x)", "backreferences"),
    ("([a-z", "does not compile"),
    ("a" * 501, "at most 500"),
])
def test_dangerous_patterns(pattern: str, reason: str) -> None:
    problem = regex_problem(pattern)
    assert problem is not None and reason in problem


@given(st.text(max_size=30))
def test_regex_problem_never_raises(pattern: str) -> None:
    problem = regex_problem(pattern)
    assert problem is None or isinstance(problem, str)


# --- every validator, any text -------------------------------------------------------------------

RULES: list[Any] = [
    None, TextValidator(), OptionsValidator(options=("Sim", "Não")),
    RegexValidator(pattern=r"[0-9]+"), NumberValidator(min=0), EmailValidator(),
    DateValidator(), CpfValidator(), CnpjValidator(),
]


def test_every_validator_is_exercised() -> None:
    assert {type(rule).TYPE for rule in RULES if rule is not None} == set(VALIDATORS)


@settings(max_examples=300)
@given(st.text(max_size=60), st.sampled_from(RULES))
def test_check_answer_never_raises(text: str, rule: Any) -> None:
    verdict = check_answer(rule, text)
    assert isinstance(verdict, Accepted | Rejected)


def test_check_answer_refuses_huge_and_non_text() -> None:
    assert isinstance(check_answer(None, "x" * 5000), Rejected)
    assert isinstance(check_answer(None, 42), Rejected)  # type: ignore[arg-type]
