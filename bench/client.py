"""A small promojobs API client for the benchmark (real HTTP to a real server process)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from promojobs.api.operation_docs import PROMOTION_REQUEST

RULE_PROMOTION: dict[str, Any] = {
    "type": "rule_promotion",
    "name": "Bench rule",
    "enabled": True,
    "start": "2026-01-01",
    "end": "2030-01-01",
    "rule_set": {
        "rules": {"strategy": "cart_total", "operator": "gte", "args": [1000]},
        "actions": [{"strategy": "cart_discount", "args": ["percent", 10]}],
    },
}


class JobFailed(RuntimeError):
    pass


class Client:
    def __init__(self, base_url: str, client_id: str, client_secret: str) -> None:
        self.base_url = base_url
        response = httpx.post(
            f"{base_url}/oauth/access_token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            timeout=60,
        )
        response.raise_for_status()
        self.token = str(response.json()["access_token"])
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {self.token}"}, timeout=600
        )
        self.rule_promotions: set[str] = set()  # their jobs are under /v2/rule-promotions

    def _promotion(self, promotion: str) -> str:
        kind = "rule-promotions" if promotion in self.rule_promotions else "promotions"
        return f"/v2/{kind}/{promotion}"

    def close(self) -> None:
        self.http.close()

    def _ok(self, response: httpx.Response, status: int = 200) -> Any:
        if response.status_code != status:
            raise RuntimeError(
                f"{response.request.method} {response.request.url}: {response.status_code} "
                f"{response.text[:500]}"
            )
        return response.json() if response.content else None

    def create_promotion(self, name: str) -> str:
        body = {"data": {**PROMOTION_REQUEST, "name": name}}
        return str(self._ok(self.http.post("/v2/promotions", json=body), 201)["data"]["id"])

    def create_rule_promotion(self, name: str) -> str:
        body = {"data": {**RULE_PROMOTION, "name": name}}
        promotion = str(self._ok(self.http.post("/v2/rule-promotions", json=body), 201)["data"]["id"])
        self.rule_promotions.add(promotion)
        return promotion

    def submit(self, promotion: str, job_type: str, parameters: dict[str, Any] | None = None) -> str:
        data: dict[str, Any] = {"type": "promotion_job", "job_type": job_type, "name": "bench"}
        if parameters is not None:
            data["parameters"] = parameters
        response = self.http.post(f"{self._promotion(promotion)}/jobs", json={"data": data})
        return str(self._ok(response, 201)["data"]["id"])

    def job(self, promotion: str, job_id: str) -> dict[str, Any]:
        return dict(self._ok(self.http.get(f"{self._promotion(promotion)}/jobs/{job_id}"))["data"])

    def wait(
        self, promotion: str, job_id: str, poll: float = 0.05, stall_seconds: float = 60.0
    ) -> dict[str, Any]:
        """Poll until the job is completed; raise if it fails, is cancelled, or stalls (its ``updated_at``,
        bumped by every batch and every export heartbeat, stays the same for ``stall_seconds``)."""
        last_change, last_seen = time.monotonic(), None
        while True:
            job = self.job(promotion, job_id)
            if job["status"] == "completed":
                return job
            if job["status"] in ("failed", "cancelled"):
                raise JobFailed(f"job {job_id} ended {job['status']}: {job.get('error')}")
            seen = (job["status"], job["meta"]["timestamps"]["updated_at"])
            if seen != last_seen:
                last_change, last_seen = time.monotonic(), seen
            elif time.monotonic() - last_change > stall_seconds:
                raise JobFailed(
                    f"job {job_id} stalled: {job['status']} for {stall_seconds:.0f} s (see worker logs)"
                )
            time.sleep(poll)

    def run_job(
        self, promotion: str, job_type: str, parameters: dict[str, Any] | None = None, poll: float = 0.05
    ) -> tuple[float, dict[str, Any]]:
        """Seconds from the POST to ``completed`` as seen by polling, and the final job."""
        started = time.perf_counter()
        job_id = self.submit(promotion, job_type, parameters)
        job = self.wait(promotion, job_id, poll)
        return time.perf_counter() - started, job

    def download_export(self, promotion: str, job_id: str, out: Path) -> int:
        """Fetch the signed link and download the file through it with curl; return its size in bytes.

        curl, not httpx: the client's own cost must not be in the measurement (httpx spends ~0.15 s on a
        70 MB body that curl takes in ~0.03 s), as the tool baselines are native programs too."""
        href = str(self._ok(self.http.get(f"{self._promotion(promotion)}/jobs/{job_id}/file"))["href"])
        argv = ["curl", "-sS", "--fail", "-o", str(out), href]
        subprocess.run(argv, check=True, timeout=600)
        return out.stat().st_size

    def add_codes(self, promotion: str, codes: list[str]) -> float:
        body = {"data": {"type": "promotion_codes", "codes": [{"code": code} for code in codes]}}
        content = orjson.dumps(body)  # encoded before the clock starts
        headers = {"Content-Type": "application/json"}
        started = time.perf_counter()
        response = self.http.post(f"/v2/promotions/{promotion}/codes", content=content, headers=headers)
        seconds = time.perf_counter() - started
        self._ok(response, 201)
        return seconds

    def get_bytes(self, path: str) -> bytes:
        response = self.http.get(path)
        self._ok(response)
        return response.content
