"""Names, e-mails and ids for simulated people. Deterministic: the caller passes the stream."""

from __future__ import annotations

import numpy as np

FIRST_NAMES: tuple[str, ...] = (
    "Aisha", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Imani", "Jon",
    "Kavya", "Liam", "Maria", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq",
    "Uma", "Victor", "Wen", "Xavier", "Yara", "Zoe", "Andre", "Bea", "Carlos", "Dana",
    "Emeka", "Fiona", "Gabe", "Hana", "Ivan", "Jade", "Kofi", "Lena", "Marco", "Nina",
    "Oscar", "Paula", "Rafael", "Sofia", "Tom", "Vera", "Will", "Yusuf",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Khan", "Smith", "Santos", "Patel", "Garcia", "Okafor", "Nguyen", "Murphy", "Reyes",
    "Cohen", "Brown", "Ali", "Kowalski", "Tanaka", "Mensah", "Jones", "Silva", "Dubois",
    "Ahmed", "Wilson", "Cruz", "Novak", "Rossi", "Baker", "Haddad", "Lopez", "Evans",
    "Kim", "Osei", "Walsh", "Fischer", "Mendoza", "Taylor", "Hughes", "Bautista", "Chen",
)  # fmt: skip

EMAIL_DOMAIN = "coachloop.example"


class NameBook:
    """Hands out full names and unique e-mail addresses."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._emails: dict[str, int] = {}

    def person(self) -> tuple[str, str]:
        first = FIRST_NAMES[int(self._rng.integers(len(FIRST_NAMES)))]
        last = LAST_NAMES[int(self._rng.integers(len(LAST_NAMES)))]
        local = f"{first}.{last}".lower()
        seen = self._emails.get(local, 0)
        self._emails[local] = seen + 1
        suffix = str(seen + 1) if seen else ""
        return f"{first} {last}", f"{local}{suffix}@{EMAIL_DOMAIN}"


def agent_id(number: int) -> str:
    return f"A{number:04d}"


def acd_id(number: int) -> str:
    """The phone system's id for the same agent: a bare number, as ACDs have."""
    return str(5000 + number)


def wfm_id(number: int) -> str:
    return f"W-{number:04d}"


def team_code(program: str, index: int) -> str:
    """care-a, care-b, ... care-z, care-aa: letters, as team names on a floor plan."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return f"{program}-{letters}"
