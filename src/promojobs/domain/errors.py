"""The one error root of promojobs.

Every error the product raises on purpose is a ``PromojobsError``. Each subclass carries the Elastic Path
``title`` and a default ``detail``; the API layer owns the only table that maps them to HTTP statuses
(``promojobs.api.errors``). Routes never build error JSON.

    PromojobsError
    ├── ValidationFailed          400  a field is missing or wrong (``source`` names it)
    ├── InvalidFilter             400  "Could not parse the supplied filter"
    ├── TooManyPromotionCodes     400  number_of_codes above the per-job limit
    ├── TooManyJobs               400  a second active job on one promotion
    ├── Unauthorized              401  missing, invalid, expired or revoked token
    │   └── InvalidCredentials    401  a token request with a wrong client id or secret
    ├── Forbidden                 403  an implicit token on a promotion route, a bad download link
    ├── NotFound                  404  unknown, or another store's, resource
    ├── Unprocessable             422  a valid request the current state forbids
    │   ├── NoCodesAllowed        422  codes on an automatic promotion
    │   ├── DuplicateCode         422  a code already in use in the store
    │   └── CodeSpaceTooSmall     422  the keyspace cannot hold the requested codes safely
    ├── RateLimited               429  too many requests (``retry_after_seconds``)
    └── Unavailable               503  the database cannot be reached
"""

from __future__ import annotations


class PromojobsError(Exception):
    """Something went wrong."""

    title = "Internal Server Error"

    def __init__(self, detail: str | None = None, *, source: str | None = None) -> None:
        self.detail = detail if detail is not None else (self.__doc__ or "").strip()
        self.source = source
        super().__init__(self.detail)


class ValidationFailed(PromojobsError):
    """The request is not valid."""

    title = "Bad Request"

    def __init__(self, detail: str, *, source: str | None = None, title: str | None = None) -> None:
        super().__init__(detail, source=source)
        if title is not None:
            self.title = title


class InvalidFilter(PromojobsError):
    """Could not parse the supplied filter"""

    title = "Bad Request"


class TooManyPromotionCodes(PromojobsError):
    """Only 1000 promotion codes are allowed per promotion"""

    title = "Too many promotion codes"


class TooManyJobs(PromojobsError):
    """Only 1 pending or processing job is allowed per promotion."""

    title = "Too many jobs"


class Unauthorized(PromojobsError):
    """Unable to validate access token"""

    title = "Unable to validate access token"


class InvalidCredentials(Unauthorized):
    """Invalid client credentials"""

    title = "Unauthorized"


class Forbidden(PromojobsError):
    """You do not have permission to access this resource."""

    title = "Forbidden"


class NotFound(PromojobsError):
    """Not found"""

    title = "Not Found"


class Unprocessable(PromojobsError):
    """The request cannot be processed."""

    title = "Unprocessable Entity"


class NoCodesAllowed(Unprocessable):
    """Cannot add codes to an automatic promotion"""

    title = "No codes allowed"


class DuplicateCode(Unprocessable):
    """Promotion code already in use"""

    title = "Duplicate code"


class CodeSpaceTooSmall(Unprocessable):
    """Not enough unique codes of this length remain."""

    title = "Code space too small"


class RateLimited(PromojobsError):
    """Too many requests, slow down."""

    title = "Too Many Requests"

    def __init__(self, retry_after_seconds: int, detail: str | None = None) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class Unavailable(PromojobsError):
    """The service is temporarily unavailable; try again shortly."""

    title = "Service Unavailable"
