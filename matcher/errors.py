"""Domain errors: one hierarchy, each with a Japanese and an English message.

Coordinators read the Japanese message; logs and tests read the English one. The web service
maps the class to an HTTP status in one handler and the CLI prints it as one line with exit
code 2; anything that is not a ``MatcherError`` is a bug and is allowed to raise.
"""

from __future__ import annotations

from typing import Any


class MatcherError(Exception):
    """Base of every error the user can cause and fix."""

    status = 400
    code = "error"

    def __init__(self, message_ja: str, message_en: str, **details: Any) -> None:
        self.message_ja, self.message_en, self.details = message_ja, message_en, details
        super().__init__(f"{message_ja} / {message_en}")

    @property
    def message(self) -> str:
        return f"{self.message_ja} / {self.message_en}"


class NotFound(MatcherError):
    """The referenced need, organisation, seed, suggestion, user or version does not exist."""

    status = 404
    code = "not_found"


class InvalidInput(MatcherError):
    """A value the user gave cannot be accepted (unknown verdict, bad reason code, …)."""

    status = 422
    code = "invalid_input"


class FileError(InvalidInput):
    """A file as a whole cannot be read (empty, binary, truncated, unknown encoding, no header)."""

    code = "file_error"

    def __init__(self, file: str, message_ja: str, message_en: str) -> None:
        self.file = file
        super().__init__(message_ja, message_en, file=file)
        self.args = (f"{file}: {message_ja} / {message_en}",)

    def __str__(self) -> str:
        return self.args[0]


class Conflict(MatcherError):
    """The request contradicts the current state (duplicate user, nothing to roll back to, …)."""

    status = 409
    code = "conflict"


class NotReady(MatcherError):
    """A component the operation needs is not built yet (no index, no embedder)."""

    status = 409
    code = "not_ready"
