"""Helpers for the /v2/rule-promotions tests."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.support import Api

RULE_PROMOTION: dict[str, Any] = {
    "type": "rule_promotion",
    "name": "10% off over 10",
    "description": "cart rule",
    "enabled": True,
    "automatic": False,
    "start": "2026-01-01",
    "end": "2030-01-01",
    "rule_set": {
        "currencies": ["USD"],
        "rules": {"strategy": "cart_total", "operator": "gte", "args": [1000]},
        "actions": [{"strategy": "cart_discount", "args": ["percent", 10]}],
    },
}
BASE = "/v2/rule-promotions"


def create(api: Api, **overrides: Any) -> httpx.Response:
    return api.http.post(BASE, json={"data": {**RULE_PROMOTION, **overrides}})


def create_id(api: Api, **overrides: Any) -> str:
    response = create(api, **overrides)
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def add_codes(api: Api, promotion: str, *codes: dict[str, Any]) -> httpx.Response:
    body = {"data": {"type": "promotion_codes", "codes": list(codes)}}
    return api.http.post(f"{BASE}/{promotion}/codes", json=body)


def list_codes(api: Api, promotion: str, **params: Any) -> dict[str, Any]:
    response = api.http.get(f"{BASE}/{promotion}/codes", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def create_job(api: Api, promotion: str, job_type: str = "code_generate", **data: Any) -> httpx.Response:
    body = {"data": {"type": "promotion_job", "job_type": job_type, **data}}
    return api.http.post(f"{BASE}/{promotion}/jobs", json=body)


def job(api: Api, promotion: str, job_id: str) -> dict[str, Any]:
    response = api.http.get(f"{BASE}/{promotion}/jobs/{job_id}")
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def wait_for(api: Api, promotion: str, job_id: str, *statuses: str, timeout: float = 60) -> dict[str, Any]:
    wanted = statuses or ("completed", "failed", "cancelled")
    deadline = time.monotonic() + timeout
    while True:
        current = job(api, promotion, job_id)
        if current["status"] in wanted:
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"job stayed {current['status']}: {current}")
        time.sleep(0.05)
