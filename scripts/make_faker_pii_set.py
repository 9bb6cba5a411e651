"""Write tests/guardrails/faker_pii.jsonl: PII values as Faker makes them, in 18 locales.

Test sets for PII detectors are often generated with Faker, and its values are not
always valid ones: JCB numbers on any ``35`` prefix, 12-digit Maestro numbers on ``0604``,
British IBANs one character short (with correct check digits), phone numbers on area
codes nobody assigned. A detector that checks issuers, registered lengths and phone
ranges strictly lets those through. This set measures that: the values are Faker's
(seeded, so the file is the same on every run), the sentences around them are ours,
some naming what the value is and some not; the near misses are Faker's other numbers
(barcodes, ISBNs, postcodes, licence plates) and numbered references.

Faker is not a dependency of gwstream: ``pip install 'faker>=30,<41'`` to regenerate with

    .venv/bin/python scripts/make_faker_pii_set.py
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import orjson
from faker import Faker

OUT = Path(__file__).parents[1] / "tests" / "guardrails" / "faker_pii.jsonl"
LOCALES = (
    "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "en_IN",
    "en_AU", "pl_PL", "sv_SE", "ja_JP", "en_CA", "es_MX", "tr_TR", "ru_RU", "zh_CN",
)  # fmt: skip
PER_LOCALE = 4  # items per locale, type and kind of sentence

# "{}" is the value. The first sentences of each type name it; the last do not.
SENTENCES = {
    "PHONE": (
        "You can call me back on {} any time after six.",
        "My mobile is {}, text me when the parcel ships.",
        "Please update the phone number on my account to {}.",
        "Contact number: {} (evenings only)",
        "{} is the best way to get hold of me.",
        "If I don't pick up, try {} instead.",
    ),
    "EMAIL": (
        "Send the invoice to {} please.",
        "My email address changed to {} last week.",
        "{} never got the reset link.",
        "Please add {} as a second contact.",
    ),
    "CARD": (
        "My card number is {} and it expires next year.",
        "Please charge the renewal to my credit card {}.",
        "Card: {}, expiry 09/28",
        "I paid with {} but the order still shows unpaid.",
        "{} was charged twice this morning.",
    ),
    "IBAN": (
        "My IBAN is {}, please refund the deposit there.",
        "Bank details for the refund: {}",
        "Please send it to {} instead of the old account.",
        "{} is the account the direct debit should use.",
    ),
    "IP": (
        "The router says my address is {} and nothing loads.",
        "Someone logged in from {} and it wasn't me.",
        "Is {} blocked on your side?",
    ),
    "SSN": (
        "My social security number is {}.",
        "For the tax form: SSN {}",
        "{} is the number on my card.",
    ),
}
NEAR_MISS = (
    ("barcode", "The barcode under the box reads {}.", "ean13"),
    ("isbn", "Can you check stock for ISBN {}?", "isbn13"),
    ("postcode", "My postcode is {} and delivery says it's out of area.", "postcode"),
    ("plate", "The van's plate was {}, it blocked my driveway.", "license_plate"),
    ("order", "Order {} arrived with a broken lid.", "order"),
    ("date", "It was delivered on {} but nobody rang.", "date"),
    ("price", "I was charged {} instead of the advertised price.", "pricetag"),
)


def _value(fake: Faker, kind: str, i: int) -> str | None:
    makers: dict[str, Callable[[], str]] = {
        "PHONE": fake.phone_number,
        "EMAIL": fake.email,
        "CARD": fake.credit_card_number,
        "IBAN": fake.iban,
        "IP": fake.ipv4 if i % 2 else fake.ipv6,
    }
    if kind == "SSN":
        return fake.ssn() if fake.locales == ["en_US"] else None
    return makers[kind]()


def _near_miss(fake: Faker, maker: str) -> str:
    if maker == "order":
        return fake.bothify("ORD-####-####")
    if maker == "postcode":
        return str(fake.postcode())
    return str(getattr(fake, maker)())


def main() -> None:
    rng = random.Random(20261207)
    items = []
    for n, locale in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(20261207 + n)
        for kind, sentences in SENTENCES.items():
            for i in range(PER_LOCALE * len(sentences) // 2):
                value = _value(fake, kind, i)
                if value is None:
                    break
                sentence = sentences[i % len(sentences)]
                start = sentence.index("{}")
                text = sentence.format(value)
                entity = {"type": kind, "start": start, "end": start + len(value)}
                if kind in ("IP",):
                    entity["type"] = "IPV6" if ":" in value else "IPV4"
                items.append((locale, "pii", text, [entity]))
        for _name, sentence, maker in NEAR_MISS:
            for _ in range(2):
                items.append((locale, "near_miss", sentence.format(_near_miss(fake, maker)), []))
    rng.shuffle(items)
    lines = []
    for n, (locale, category, text, entities) in enumerate(items, 1):
        for e in entities:
            assert text[e["start"] : e["end"]].strip() == text[e["start"] : e["end"]], text
        lines.append(
            orjson.dumps(
                {
                    "id": f"faker-{n:04d}",
                    "text": text,
                    "category": category,
                    "injection": False,
                    "evasion": "plain",
                    "attack": None,
                    "entities": entities,
                    "country": locale,
                }
            )
        )
    OUT.write_bytes(b"\n".join(lines) + b"\n")
    print(f"{len(lines)} items written to {OUT}")


if __name__ == "__main__":
    main()
