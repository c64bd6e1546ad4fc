"""Names, identity numbers, phone numbers and place names for the demo archive, vectorised.

Calling Faker once per customer is too slow for 100,000 customers, so Faker (zh_CN, seeded) supplies
*pools* (surnames with their frequencies, given names by sex, company prefixes, city names, phone prefixes,
administrative codes) and numpy combines them. Resident identity numbers follow GB 11643 (18 characters,
ISO 7064 MOD 11-2 check character, as Faker makes them), business ones are unified social credit codes
(GB 32100, MOD 31 check character).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from faker import Faker
from faker.providers.address.zh_CN import Provider as AddressProvider
from faker.providers.company.zh_CN import Provider as CompanyProvider
from faker.providers.person.zh_CN import Provider as PersonProvider
from faker.providers.phone_number.zh_CN import Provider as PhoneProvider
from faker.providers.ssn.zh_CN import Provider as SsnProvider

from gridcare.archives.demo_catalog import TOWN_SUFFIXES, VILLAGE_SUFFIXES

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK = "10X98765432"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def make_faker(seed: int) -> Faker:
    """A zh_CN Faker seeded for this demo (``seed_instance``: it does not touch the global seed)."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    return fake


def id_check_char(body17: str) -> str:
    """Check character of an 18-character resident identity number from its first 17 digits."""
    total = sum(int(c) * int(w) for c, w in zip(body17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def uscc_check_char(body17: str) -> str:
    """Check character of a unified social credit code from its first 17 characters."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(body17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    """Check character of an organisation code (GB 11714) from its 8 body characters."""
    total = sum(int(c, 36) * w for c, w in zip(body8, ORG_CODE_WEIGHTS, strict=True))
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


@dataclass(frozen=True)
class Pools:
    """What Faker supplies, drawn once per seed."""

    surnames: list[str]
    surname_p: np.ndarray
    male_given: list[str]
    female_given: list[str]
    company_prefixes: list[str]
    city_names: list[str]
    phone_prefixes: np.ndarray
    area_codes: list[str]
    districts: list[str]

    @classmethod
    def from_faker(cls, fake: Faker) -> Pools:
        weights = PersonProvider.last_names
        surnames = list(weights)
        p = np.array([weights[s] for s in surnames], dtype=np.float64)
        # shuffled with the seeded Faker so that pools differ in order per seed, not only in draws
        districts = list(AddressProvider.districts)
        fake.random.shuffle(districts)
        prefixes = sorted(set(CompanyProvider.company_prefixes))
        fake.random.shuffle(prefixes)
        return cls(
            surnames=surnames,
            surname_p=p / p.sum(),
            male_given=list(PersonProvider.first_names_male),
            female_given=list(PersonProvider.first_names_female),
            company_prefixes=prefixes,
            city_names=[fake.city_name() for _ in range(200)],
            phone_prefixes=np.array(PhoneProvider.phonenumber_prefixes, dtype=np.int64),
            area_codes=list(SsnProvider.area_codes),
            districts=districts,
        )

    def county_codes(self, city4: str) -> list[str]:
        """Real county-level administrative codes (6 digits) under a city code."""
        return [c for c in self.area_codes if c.startswith(city4) and not c.endswith("00")]

    def province_codes(self, province2: str) -> list[str]:
        return [c for c in self.area_codes if c.startswith(province2) and not c.endswith("00")]


def person_names(rng: np.random.Generator, pools: Pools, n: int) -> tuple[list[str], np.ndarray]:
    """``n`` Chinese names (surname by frequency + given name of that sex) and the sex (True: male)."""
    male = rng.random(n) < 0.5
    surname = rng.choice(len(pools.surnames), size=n, p=pools.surname_p)
    male_given = rng.integers(0, len(pools.male_given), size=n)
    female_given = rng.integers(0, len(pools.female_given), size=n)
    s, mg, fg = pools.surnames, pools.male_given, pools.female_given
    names = [
        s[a] + (mg[b] if m else fg[c])
        for a, b, c, m in zip(
            surname.tolist(), male_given.tolist(), female_given.tolist(), male.tolist(), strict=True
        )
    ]
    return names, male


def id_numbers(
    rng: np.random.Generator,
    area_codes: np.ndarray,
    male: np.ndarray,
    as_of: date,
    min_age: int = 20,
    max_age: int = 85,
) -> list[str]:
    """Distinct 18-character resident identity numbers: area code, birth date, sequence (odd = male), check.

    ``area_codes`` holds one 6-digit administrative code per person.
    """
    n = len(area_codes)
    ages_days = rng.integers(min_age * 365, max_age * 365, size=n)
    born = np.datetime64(as_of, "D") - ages_days
    years = born.astype("datetime64[Y]").astype(np.int64) + 1970
    months = born.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (born - born.astype("datetime64[M]")).astype(np.int64) + 1
    ymd = years * 10000 + months * 100 + days
    seq = rng.integers(0, 500, size=n) * 2 + male.astype(np.int64)
    head = area_codes.astype(np.int64) * 10**11 + ymd * 1000
    key = head + seq
    while True:
        _, first = np.unique(key, return_index=True)
        if len(first) == n:
            break
        again = np.ones(n, dtype=bool)
        again[first] = False
        seq[again] = (seq[again] + 2 * rng.integers(1, 500, size=int(again.sum()))) % 1000
        key = head + seq
    digits = np.stack([(key // 10 ** (16 - i)) % 10 for i in range(17)], axis=1)
    checks = (digits @ ID_WEIGHTS) % 11
    return [f"{k:017d}{ID_CHECK[c]}" for k, c in zip(key.tolist(), checks.tolist(), strict=True)]


def credit_codes(rng: np.random.Generator, area_codes: list[str], sole_trader: np.ndarray) -> list[str]:
    """Distinct unified social credit codes: "9" (market regulator), "1" enterprise / "2" sole trader,
    the administrative code, an organisation code with its check character, and the MOD 31 check."""
    n = len(area_codes)
    bodies = rng.choice(10**8, size=n, replace=False)
    out = []
    for area, body, sole in zip(area_codes, bodies.tolist(), sole_trader.tolist(), strict=True):
        org8 = f"{body:08d}"
        head = f"9{2 if sole else 1}{area}{org8}{org_code_check_char(org8)}"
        out.append(head + uscc_check_char(head))
    return out


def phone_numbers(rng: np.random.Generator, pools: Pools, n: int) -> list[str]:
    """11-digit mobile numbers: an operator prefix from Faker's list and 8 random digits."""
    prefix = pools.phone_prefixes[rng.integers(0, len(pools.phone_prefixes), size=n)]
    numbers = prefix * 10**8 + rng.integers(0, 10**8, size=n)
    return [str(v) for v in numbers.tolist()]


def town_names(rng: np.random.Generator, pools: Pools, count: int) -> list[str]:
    """``count`` distinct place names for counties and towns: Faker's districts, then 王集, 李桥 ..."""
    names = list(pools.districts)
    extra = [s + t for s in pools.surnames for t in TOWN_SUFFIXES]
    order = rng.permutation(len(extra))
    seen = set(names)
    for i in order.tolist():
        if len(names) >= count:
            break
        if extra[i] not in seen:
            seen.add(extra[i])
            names.append(extra[i])
    if len(names) < count:
        names += [f"第{k}" for k in range(len(names), count)]
    return names[:count]


def village_names(rng: np.random.Generator, pools: Pools, count: int) -> list[str]:
    """``count`` village names (张家村, 李庄, 王家湾 ...), surnames by frequency; may repeat."""
    surname = rng.choice(len(pools.surnames), size=count, p=pools.surname_p)
    suffix = rng.integers(0, len(VILLAGE_SUFFIXES), size=count)
    return [
        pools.surnames[a] + VILLAGE_SUFFIXES[b]
        for a, b in zip(surname.tolist(), suffix.tolist(), strict=True)
    ]
