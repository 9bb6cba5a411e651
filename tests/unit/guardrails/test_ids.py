"""National identity numbers: check digits, shapes, the words that must name weak ones."""

from __future__ import annotations

import pytest

from gwstream.guardrails.ids import (
    bsn_ok,
    codice_fiscale_ok,
    cpf_ok,
    nino_prefix_ok,
    nir_ok,
    steuer_id_ok,
    verhoeff_ok,
)
from gwstream.guardrails.pii import find_pii, selected


def found(text: str) -> list[tuple[str, str]]:
    return [(e.type, text[e.start : e.end]) for e in find_pii(text)]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("my NI number is QQ 12 34 56 C", "NINO", "QQ 12 34 56 C"),
        ("NINO: AB123456C on the payslip", "NINO", "AB123456C"),
        ("DNI 12345678Z, the copy is attached", "DNI", "12345678Z"),
        ("Mi NIE es X1234567L", "NIE", "X1234567L"),
        ("codice fiscale RSSMRA85T10A562S", "CODICE_FISCALE", "RSSMRA85T10A562S"),
        ("Aadhaar 2345 6789 0124 for the KYC", "AADHAAR", "2345 6789 0124"),
        ("NIR 2 55 08 14 168 025 38", "NIR", "2 55 08 14 168 025 38"),
        ("Steuer-ID 86095742719", "STEUER_ID", "86095742719"),
        ("my tax id is 86 095 742 719", "STEUER_ID", "86 095 742 719"),
        ("BSN 111222333", "BSN", "111222333"),
        ("Meu CPF: 123.456.789-09", "CPF", "123.456.789-09"),
        ("CPF 12345678909", "CPF", "12345678909"),
        ("SIN 046 454 286", "SIN", "046 454 286"),
        ("my SSN is 536221234", "SSN", "536221234"),
        ("social security number 536221234, date of birth on file", "SSN", "536221234"),
    ],
)
def test_national_ids_get_their_own_types(text: str, kind: str, value: str) -> None:
    assert found(text) == [(kind, value)]


@pytest.mark.parametrize(
    "text",
    [
        "order 536221234 has not shipped",  # nine digits, no word naming an SSN
        "ticket 111222333 is still open",  # passes the BSN 11-test, named a ticket
        "parcel 046454286 arrived",  # passes Luhn, named a parcel
        "invoice 86095742719 is wrong",  # passes the Steuer-ID checks, named an invoice
        "reference 2345 6789 0124 on the letter",  # passes Verhoeff, named a reference
        "DNI 12345678A",  # wrong check letter
        "code GB 12 34 56 A",  # a prefix HMRC never allocates
        "CPF 123.456.789-00",  # wrong check digits
        "codice RSSMRA85T10A562X",  # wrong check character
        "NIR 2 55 08 14 168 025 39",  # wrong key
        "sort code 12-34-56 for the transfer",
    ],
)
def test_near_misses_stay_unflagged(text: str) -> None:
    assert found(text) == []


def test_checksums_accept_valid_numbers_and_reject_one_digit_off() -> None:
    assert verhoeff_ok("234567890124") and not verhoeff_ok("234567890123")
    assert cpf_ok("12345678909") and not cpf_ok("12345678908") and not cpf_ok("11111111111")
    assert bsn_ok("111222333") and not bsn_ok("111222334")
    assert steuer_id_ok("86095742719") and not steuer_id_ok("86095742718")
    assert not steuer_id_ok("12345678901")  # every digit once: not a Steuer-ID's structure
    assert codice_fiscale_ok("RSSMRA85T10A562S") and not codice_fiscale_ok("RSSMRA85T10A562T")
    assert nir_ok("255081416802538") and not nir_ok("255131416802538")  # month 13
    assert nino_prefix_ok("AB") and nino_prefix_ok("QQ")
    assert not any(map(nino_prefix_ok, ("DA", "AO", "GB", "NK", "ZZ", "QA")))


def test_a_cpf_and_a_sin_are_not_phones() -> None:
    assert found("CPF 123.456.789-09, SIN 046 454 286") == [
        ("CPF", "123.456.789-09"),
        ("SIN", "046 454 286"),
    ]


def test_national_id_in_a_policy_selects_every_national_id_and_ssn_only_itself() -> None:
    from gwstream.policies import ALL_PII, GuardrailPolicy

    assert {"NINO", "CPF", "AADHAAR", "SSN"} <= selected(["NATIONAL_ID"])
    assert selected(["SSN"]) == {"SSN"} and selected(["CPF"]) == {"CPF"}
    text = "NINO AB123456C"
    assert find_pii(text, ["EMAIL"]) == [] and find_pii(text, ["SSN"]) == []
    assert len(find_pii(text, ["NATIONAL_ID"])) == 1 and len(find_pii(text, ["NINO"])) == 1
    assert "NATIONAL_ID" in ALL_PII and GuardrailPolicy().pii == ALL_PII  # on by default
    assert GuardrailPolicy(pii=["CPF", "SIN"]).pii == ["CPF", "SIN"]  # each is a policy type
