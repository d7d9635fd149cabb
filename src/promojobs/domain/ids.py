"""Resource ids on the wire are UUIDs; anything else names nothing."""

from __future__ import annotations

import re

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_uuid(text: str) -> bool:
    """Checked before a lookup, so malformed ids (with NUL, which PostgreSQL refuses) never reach SQL."""
    return _UUID.fullmatch(text) is not None
