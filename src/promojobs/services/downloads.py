"""Signed, expiring download links for export files, served by promojobs itself.

The link carries the job id, an expiry (epoch seconds) and an HMAC-SHA256 of both under the server's
signing key; it is checked with a constant-time comparison. Anyone holding a valid link can download the
file until it expires, like a cloud storage signed URL, so links are short-lived (a setting, default 1 h).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass

from promojobs.domain.errors import Forbidden


@dataclass(frozen=True)
class DownloadLinks:
    key: bytes
    lifetime_seconds: int

    def query(self, job_uuid: str, now: float | None = None) -> str:
        # Rounded up: a link lives at least its lifetime (truncating gave a 1 s link anywhere from 0 to 1 s).
        expires = math.ceil((now if now is not None else time.time()) + self.lifetime_seconds)
        return f"expires={expires}&signature={self._signature(job_uuid, expires)}"

    def verify(self, job_uuid: str, expires: str | None, signature: str | None) -> None:
        if not expires or not signature or not _canonical_seconds(expires):
            raise Forbidden("The download link is invalid")
        expected = self._signature(job_uuid, int(expires))
        # As bytes: compare_digest raises TypeError for a str with non-ASCII characters.
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "surrogatepass")):
            raise Forbidden("The download link is invalid")
        if int(expires) < time.time():
            raise Forbidden("The download link has expired")

    def _signature(self, job_uuid: str, expires: int) -> str:
        return hmac.new(self.key, f"{job_uuid}\n{expires}".encode(), hashlib.sha256).hexdigest()


def _canonical_seconds(text: str) -> bool:
    """Only the form ``query`` writes: ASCII digits, no leading zero, at most 12 of them.

    Any other spelling of the same number (``0123``) would be another URL for the same link, which the
    signature does not cover: a way around caches and log searches for a link that was handed out.
    """
    # isascii: str.isdigit also accepts "²" (int() refuses it) and other scripts' digits.
    return text.isascii() and text.isdigit() and len(text) <= 12 and (text == "0" or text[0] != "0")
