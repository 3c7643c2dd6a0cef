"""Errors a service raises for a person to act on; views show them, the CLI prints them and exits 1."""
from __future__ import annotations


class ServiceError(Exception):
    """A rule was broken. `field` names the form field the message belongs under, when there is one."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class ValidationErrors(ServiceError):
    """Several field messages at once, so a form or CLI can show all of them."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors
