"""Errors services raise, and the one error envelope every API answer uses (CONTRACTS.md):

{"error": {"code": "validation_error", "message": "...", "details": [...]}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorDetail:
    """One problem with one value: where it is, what was given, what was expected."""

    column: str | None
    value: Any
    expected: str
    row: int | None = None

    def as_dict(self) -> dict[str, Any]:
        detail: dict[str, Any] = {}
        if self.row is not None:
            detail["row"] = self.row
        detail.update({"column": self.column, "value": self.value, "expected": self.expected})
        return detail


class CoachloopError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: list[ErrorDetail] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidInput(CoachloopError):
    status = 422
    code = "validation_error"


class NotAllowed(CoachloopError):
    """In scope, but this role may not do it (403). Out of scope is a 404, never this."""

    status = 403
    code = "forbidden"


class Conflict(CoachloopError):
    status = 409
    code = "conflict"


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or []}}
