"""Domain errors raised by services; views turn them into a message and a 4xx status."""


class DomainError(Exception):
    """A rule refused a change. The message is safe to show to the person who asked."""

    status_code = 400

    def __init__(self, message: str) -> None:
        """Keep the human message."""
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The record does not exist (or the person may not know that it does)."""

    status_code = 404


class Forbidden(DomainError):
    """The person may not do this."""

    status_code = 403


class PrerequisiteNotMet(DomainError):
    """An item's rule is not met; the message explains what is missing."""

    status_code = 409


class AlreadyDecided(DomainError):
    """Someone else already decided or changed this record."""

    status_code = 409


class Conflict(DomainError):
    """The change clashes with the current state (duplicate, full, closed...)."""

    status_code = 409


class InvalidInput(DomainError):
    """The input has the right shape but not an acceptable value."""

    status_code = 422
