"""A download link is accepted only as it was handed out: the same expiry written another way is another URL
that the signature does not cover."""

from __future__ import annotations

import httpx

from tests.support import LiveServer, ep_error

INVALID_LINK = ep_error(403, "Forbidden", "The download link is invalid")


def test_download_link_with_a_leading_zero_in_expires__is_403_and_the_link_as_given_still_works(
    server: LiveServer,
) -> None:
    api = server.api()
    promotion = api.create_promotion()
    export = api.create_job(promotion, "code_export").json()["data"]["id"]
    api.wait_for(promotion, export, "completed")
    href = api.file(promotion, export).json()["href"]
    assert "expires=" in href
    for padded in (href.replace("expires=", "expires=0"), href.replace("expires=", "expires=000")):
        response = httpx.get(padded)
        assert response.status_code == 403, padded
        assert response.json() == INVALID_LINK
    assert httpx.get(href).status_code == 200
