"""The operations outside the promotions: the token endpoint, the export download and the health
checks."""

from __future__ import annotations

from promojobs.api.operation_docs.base import (
    ACCESS_TOKEN,
    BEARER_CHALLENGE,
    CLIENT_ID,
    CLIENT_SECRET,
    Example,
    OperationDoc,
    OperationTable,
    error_body,
)
from promojobs.api.routes import downloads, health, tokens

_ACCESS_TOKEN = OperationDoc(
    "Exchange client credentials for a bearer token (form-encoded, as Elastic Path's OAuth endpoint). "
    "`client_credentials` (with `client_secret`) gives a token for the promotion routes; `implicit` "
    "(`client_id` only) a storefront token, which promotion routes refuse with 403. `expires` is in epoch "
    "seconds. A JSON body is 400 saying to send a form; wrong credentials are 401, and repeated failures "
    "are throttled (429 with `Retry-After`).",
    (
        Example(
            "A client_credentials token",
            200,
            {
                "access_token": ACCESS_TOKEN,
                "token_type": "Bearer",
                "expires_in": 3600,
                "expires": 1780306200,
                "identifier": "client_credentials",
            },
            request={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        ),
        Example(
            "An unknown grant type",
            400,
            error_body(400, "Bad Request", "grant_type must be client_credentials or implicit", "grant_type"),
            request={"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        ),
        Example(
            "A wrong client secret",
            401,
            error_body(401, "Unauthorized", "Invalid client credentials"),
            request={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": "wrong-secret",
            },
            headers=BEARER_CHALLENGE,
        ),
    ),
)
_DOWNLOAD_EXPORT = OperationDoc(
    "The CSV file of an export job, for whoever holds the link from `GET …/jobs/{job_id}/file` (no token): "
    "header `code,uses,max_uses,consume_unit,user,created_at`, UTF-8, `\\n` line ends. The link is signed "
    "and expires; an altered or expired one is 403. `HEAD` answers the same headers without the body.",
    (
        Example(
            "The exported codes",
            200,
            "code,uses,max_uses,consume_unit,user,created_at\nSUMMER-10,5,5,per_cart,,2026-06-01T09:30:00.000Z\n",
            job="completed",
        ),
        Example(
            "An altered or expired link",
            403,
            error_body(403, "Forbidden", "The download link is invalid"),
            query={"signature": "0" * 64},
            job="completed",
        ),
    ),
)
_HEALTHZ = OperationDoc(
    "Liveness: the process answers. Touches nothing else, so it answers even while the database does not.",
    (Example("Alive", 200, {"status": "ok"}),),
)
_READYZ = OperationDoc(
    "Readiness: the database answers too, within 2 seconds; otherwise 503, so a load balancer takes the "
    "process out rather than wait with it.",
    (
        Example("Ready", 200, {"status": "ready"}),
        Example(
            "The database did not answer in time",
            503,
            error_body(503, "Service Unavailable", "The database did not answer within 2 s."),
        ),
    ),
)

DOCS: OperationTable = {
    tokens.access_token: _ACCESS_TOKEN,
    downloads.download_export: _DOWNLOAD_EXPORT,
    health.healthz: _HEALTHZ,
    health.readyz: _READYZ,
}
