"""The one exception root of feeds-kit and its operational failures.

Findings about the user's data are never exceptions: they are :class:`feeds_kit.issues.Issue`
records in a report. Exceptions are for what stops the work: an unreadable file, missing
credentials, a failing network, an API error, a FATAL feed. Each carries its context and the
exit code the command line returns for it (see PRODUCT.md: 2 usage/unreadable input,
3 operational failure).
"""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_OPERATIONAL = 3


class FeedsKitError(Exception):
    """Root of every exception feeds-kit raises on purpose.

    ``str(error)`` is one sentence fit for a person; it never contains a secret.
    """

    exit_code: int = EXIT_OPERATIONAL

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = {k: v for k, v in context.items() if v is not None}

    def __str__(self) -> str:
        return self.message


class InputError(FeedsKitError):
    """The input file cannot be read as a sheet (missing, corrupt, encrypted, wrong format, ...).

    Context: ``file`` and, where known, ``sheet``, ``row``, ``column``.
    """

    exit_code = EXIT_USAGE

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(message, file=file, sheet=sheet, row=row, column=column)
        self.file = file
        self.sheet = sheet
        self.row = row
        self.column = column


class UsageError(FeedsKitError):
    """The request itself is wrong: an unknown kind, marketplace, profile or option value."""

    exit_code = EXIT_USAGE


class OutputError(FeedsKitError):
    """An output file cannot be written (or would overwrite the input)."""

    exit_code = EXIT_USAGE


class ConfigError(FeedsKitError):
    """Configuration or credentials are missing, unreadable or unsafe (e.g. world-readable)."""

    exit_code = EXIT_OPERATIONAL


class AuthError(FeedsKitError):
    """Login with Amazon refused the credentials or could not be reached."""

    exit_code = EXIT_OPERATIONAL


class ApiError(FeedsKitError):
    """An SP-API call failed.

    Carries the HTTP ``status``, Amazon's ``errors`` list (``code``/``message``/``details``),
    the ``request_id`` from ``x-amzn-RequestId`` and the ``operation`` name.
    """

    exit_code = EXIT_OPERATIONAL

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        status: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
        **context: Any,
    ) -> None:
        super().__init__(
            message,
            operation=operation,
            status=status,
            request_id=request_id,
            **context,
        )
        self.operation = operation
        self.status = status
        self.errors = list(errors or [])
        self.request_id = request_id


class ThrottledError(ApiError):
    """Amazon answered 429 more often than the retry policy allows."""


class NetworkError(FeedsKitError):
    """The connection failed (refused, reset, timed out) after the retries allowed."""

    exit_code = EXIT_OPERATIONAL


class AmbiguousRequestError(NetworkError):
    """A non-idempotent request may or may not have been taken (e.g. ``createFeed`` timed out).

    The caller must reconcile (``getFeeds``) before deciding to send it again.
    """


class UploadError(FeedsKitError):
    """The PUT to (or GET from) a presigned document URL failed; S3's error is in the message."""

    exit_code = EXIT_OPERATIONAL


class UploadExpiredError(UploadError):
    """The presigned URL expired before the PUT (S3 answered 403 "Request has expired").

    The document must be created again with ``createFeedDocument``.
    """


class FeedFailedError(FeedsKitError):
    """A feed ended FATAL or CANCELLED. Context: ``feed_id``, ``status``."""

    exit_code = EXIT_OPERATIONAL


class JournalError(FeedsKitError):
    """The submission journal cannot be opened or is inconsistent."""

    exit_code = EXIT_OPERATIONAL


class NotFoundError(FeedsKitError):
    """A submission, feed or cached item named by the user does not exist."""

    exit_code = EXIT_USAGE
