"""A promotion's code total (results.total of GET …/codes) stays exact however codes come and go."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.support import Api, LiveServer, running_workers


def _listed_total(api: Api, promotion: str) -> int:
    response = api.http.get(f"/v2/promotions/{promotion}/codes", params={"page[limit]": 1})
    return int(response.json()["meta"]["results"]["total"])


def _counted(server: LiveServer, promotion: str) -> int:
    with server.container.database.read() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM codes c JOIN promotions p ON p.id = c.promotion_id "
                    "WHERE p.uuid = :p"
                ),
                {"p": promotion},
            ).scalar_one()
        )


@pytest.mark.slow
def test_code_total__follows_generation_additions_deletions_and_cancels(make_server: object) -> None:
    server: LiveServer = make_server(embedded_worker=False)  # type: ignore[operator]
    api = server.api()
    promotion = api.create_promotion()
    with running_workers(server, batch_size=1_000):
        api.wait_for(promotion, api.generate(promotion, 5_000)["id"], "completed")
    assert _listed_total(api, promotion) == _counted(server, promotion) == 5_000

    assert api.add_codes(promotion, "ONE", "TWO", "THREE").status_code == 201
    assert api.add_codes(promotion, "one").status_code == 422  # refused whole: the count must not move
    assert api.http.delete(f"/v2/promotions/{promotion}/codes/two").status_code == 204
    body = {"data": {"type": "promotion_codes", "codes": [{"code": "THREE"}, {"code": "NOPE"}]}}
    assert api.http.request("DELETE", f"/v2/promotions/{promotion}/codes", json=body).status_code == 204
    assert _listed_total(api, promotion) == _counted(server, promotion) == 5_001

    job = api.generate(promotion, 300_000)["id"]
    with running_workers(server, batch_size=500):
        api.wait_until(promotion, job, lambda state: state.get("result", {}).get("generated", 0) > 0)
        assert api.cancel(promotion, job).status_code == 200
        api.wait_for(promotion, job, "cancelled")
    assert _listed_total(api, promotion) == _counted(server, promotion) == 5_001
