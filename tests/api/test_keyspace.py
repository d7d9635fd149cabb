"""The keyspace rule (docs/jobs.md): what counts against a prefix and length is every code the store's live
jobs hold or will hold: pending jobs too, on any promotion of the store, with the prefix compared without
case (codes are case-insensitive). One live code per billion here: 1,099 codes of length 8 fit."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import Api, LiveServer

RATIO = 1e-9  # 32^8 * 1e-9 = 1,099 codes of length 8


def _refused(response: httpx.Response, existing: int, requested: int) -> None:
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert (error["title"], error["source"]) == ("Code space too small", "data.parameters.code_length")
    assert f"({existing:,} existing + {requested:,} requested)" in error["detail"], error["detail"]


def _ask(api: Api, number: int, **parameters: Any) -> httpx.Response:
    return api.create_job(api.create_promotion(), parameters={"number_of_codes": number, **parameters})


def test_keyspace__pending_jobs_on_other_promotions_of_the_store_count(make_server: Any) -> None:
    server: LiveServer = make_server(embedded_worker=False, keyspace_max_fill_ratio=RATIO)
    api = server.api()
    first = _ask(api, 1000)  # no worker: it stays pending, holding no code yet
    assert first.status_code == 201 and first.json()["data"]["status"] == "pending"
    _refused(_ask(api, 100), existing=1000, requested=100)
    assert _ask(api, 99).status_code == 201  # 1,099 fit exactly
    _refused(_ask(api, 1), existing=1099, requested=1)


def test_keyspace__prefixes_differing_only_in_case_share_one_keyspace(make_server: Any) -> None:
    server: LiveServer = make_server(embedded_worker=False, keyspace_max_fill_ratio=RATIO)
    api = server.api()
    assert _ask(api, 1000, code_prefix="ab-").status_code == 201
    _refused(_ask(api, 100, code_prefix="AB-"), existing=1000, requested=100)
    _refused(_ask(api, 100, code_prefix="aB-"), existing=1000, requested=100)
    assert _ask(api, 100, code_prefix="AC-").status_code == 201  # another prefix: its own keyspace
    assert _ask(api, 100, code_prefix="ab-", code_length=9).status_code == 201  # another length too


def test_keyspace__other_stores_and_cancelled_jobs_do_not_count(make_server: Any) -> None:
    server: LiveServer = make_server(embedded_worker=False, keyspace_max_fill_ratio=RATIO)
    api, other_store = server.api("store-a"), server.api("store-b")
    promotion = api.create_promotion()
    job = api.generate(promotion, 1000)
    assert _ask(other_store, 1000).status_code == 201
    _refused(_ask(api, 100), existing=1000, requested=100)
    assert api.cancel(promotion, job["id"]).json()["data"]["status"] == "cancelled"
    assert _ask(api, 1000).status_code == 201
