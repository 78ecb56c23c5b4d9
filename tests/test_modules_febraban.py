"""Bank slip digitable lines (mod 10 / mod 11 check digits, due-date factors), CPF and CNPJ,
checked against values published by other implementations and by the Receita Federal."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytake.modules.builtin import (
    InvalidDigitableLine,
    make_digitable_line,
    parse_digitable_line,
    valid_cnpj,
    valid_cpf,
)
from pytake.modules.builtin._febraban import due_factor_for, mod10, mod11

#: A Caixa slip of R$ 355,00 due on 2011-02-05, from pyboleto's test suite.
CAIXA = "10498.01952 25086.156509 00000.004143 7 48690000035500"


def test_a_known_valid_line() -> None:
    line = parse_digitable_line(CAIXA)
    assert line.formatted == CAIXA
    assert (line.bank, line.currency) == ("104", "9")
    assert (line.due_factor, line.amount_cents) == (4869, 35500)
    assert line.barcode == "10497486900000355008019525086156500000000414"
    assert line.due_date(dt.date(2011, 1, 1)) == dt.date(2011, 2, 5)
    assert parse_digitable_line(CAIXA.replace(" ", "").replace(".", "")) == line


@pytest.mark.parametrize(
    ("digits", "check"),
    [
        # Barcodes without their check digit, and that digit, from caelum-stella's tests.
        ("0019386000000040000000001207113000900020618", 5),
        ("2379316800000001002949060000000000300065800", 6),
        ("3999100100001200000351202000003910476618602", 3),
    ],
)
def test_mod11_of_known_barcodes(digits: str, check: int) -> None:
    assert mod11(digits) == check


def test_mod10_examples() -> None:
    assert mod10("104980195") == 2
    assert mod10("2508615650") == 9
    assert mod10("0000000414") == 3
    assert mod10("0000000000") == 0


@pytest.mark.parametrize(
    ("position", "message"),
    [(9, "field 1: wrong check digit"), (20, "field 2: wrong check digit"),
     (31, "field 3: wrong check digit"), (32, "wrong general check digit (mod 11)"),
     (40, "wrong general check digit (mod 11)")],
)  # fmt: skip
def test_every_check_digit_is_verified(position: int, message: str) -> None:
    digits = parse_digitable_line(CAIXA).digits
    changed = digits[:position] + str((int(digits[position]) + 1) % 10) + digits[position + 1 :]
    with pytest.raises(InvalidDigitableLine, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_digitable_line(changed)


def test_lines_of_the_wrong_shape() -> None:
    with pytest.raises(InvalidDigitableLine, match="47 digits, got 46"):
        parse_digitable_line(CAIXA[:-1])
    with pytest.raises(InvalidDigitableLine, match="utility or tax slip"):
        parse_digitable_line("8" * 48)
    with pytest.raises(InvalidDigitableLine, match="only digits"):
        parse_digitable_line(CAIXA.replace("1", "I"))
    with pytest.raises(InvalidDigitableLine, match="only digits"):
        parse_digitable_line("\u0661" * 47)  # Arabic-Indic digits are digits, but not ours


def test_due_date_factors_across_the_2025_restart() -> None:
    assert due_factor_for(dt.date(2000, 7, 3)) == 1000
    assert due_factor_for(dt.date(2025, 2, 21)) == 9999
    assert due_factor_for(dt.date(2025, 2, 22)) == 1000
    line = make_digitable_line(bank="001", amount_cents=100, due_factor=1000, free_field="0" * 25)
    assert line.due_date(dt.date(2025, 3, 1)) == dt.date(2025, 2, 22)
    assert line.due_date(dt.date(2000, 8, 1)) == dt.date(2000, 7, 3)
    no_due = make_digitable_line(bank="001", amount_cents=0, due_factor=0, free_field="1" * 25)
    assert no_due.due_date() is None and no_due.amount_cents == 0


@given(
    bank=st.from_regex(r"\A[0-9]{3}\Z"),
    amount=st.integers(0, 10**10 - 1),
    factor=st.integers(0, 9999),
    free=st.from_regex(r"\A[0-9]{25}\Z"),
)
def test_made_lines_parse_back(bank: str, amount: int, factor: int, free: str) -> None:
    line = make_digitable_line(bank=bank, amount_cents=amount, due_factor=factor, free_field=free)
    assert (line.bank, line.amount_cents, line.due_factor, line.free_field) == (
        bank, amount, factor, free,
    )  # fmt: skip
    assert parse_digitable_line(line.formatted) == line


def test_cpf_and_cnpj_check_digits() -> None:
    assert valid_cpf("529.982.247-25") and valid_cpf("52998224725")
    assert not valid_cpf("529.982.247-26")
    assert not valid_cpf("111.111.111-11")  # right arithmetic, never issued
    assert not valid_cpf("5299822472")
    assert valid_cnpj("11.222.333/0001-81") and not valid_cnpj("11.222.333/0001-82")
    # The Receita Federal's example of an alphanumeric CNPJ (issued from July 2026).
    assert valid_cnpj("12.ABC.345/01DE-35") and valid_cnpj("12abc34501de35")
    assert not valid_cnpj("12.ABC.345/01DE-36")
    assert not valid_cnpj("00000000000000") and not valid_cnpj("12ABC34501DE3X")
