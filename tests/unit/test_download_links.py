"""Signed download links live at least their lifetime."""

from __future__ import annotations

from urllib.parse import parse_qs

from promojobs.services.downloads import DownloadLinks


def test_expiry__rounded_up_so_the_link_lives_at_least_its_lifetime() -> None:
    links = DownloadLinks(b"key", lifetime_seconds=1)
    for now in (100.0, 100.01, 100.5, 100.99):
        expires = int(parse_qs(links.query("job", now=now))["expires"][0])
        assert now + 1 <= expires < now + 2
