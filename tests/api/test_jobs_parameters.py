"""Job parameters are checked by name: a misspelled one is refused, not dropped (issue 16, item 7).

Elastic Path's docs list the parameters and do not say unknown ones are ignored, so the ``elasticpath``
profile refuses them too (docs/compatibility.md).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support import Api, LiveServer, ep_error

MakeServer = Callable[..., LiveServer]
ALLOWED = "code_length, code_prefix, consume_unit, max_uses_per_code, number_of_codes"


def _api_and_promotion(make_server: MakeServer, profile: str) -> tuple[Api, str]:
    server = make_server(embedded_worker=False, **({"profile": profile} if profile != "default" else {}))
    api = server.api()
    return api, api.create_promotion()


@pytest.mark.parametrize("profile", ["default", "elasticpath"])
def test_create_generate_job__an_unknown_parameter_is_400_naming_it(
    make_server: MakeServer, profile: str
) -> None:
    api, promotion = _api_and_promotion(make_server, profile)

    misspelled = api.create_job(promotion, parameters={"number_of_codes": 5, "prefix": "SUM-"})
    assert misspelled.status_code == 400
    assert misspelled.json() == ep_error(
        400,
        "Bad Request",
        f"unknown parameter for code_generate: prefix (allowed: {ALLOWED})",
        "data.parameters.prefix",
    )
    two = api.create_job(promotion, parameters={"number_of_codes": 5, "length": 10, "prefix": "SUM-"})
    assert two.json() == ep_error(
        400,
        "Bad Request",
        f"unknown parameters for code_generate: length, prefix (allowed: {ALLOWED})",
        "data.parameters.length",
    )
    # Named before any other mistake in the same parameters: the misspelling is the likely cause.
    without_count = api.create_job(promotion, parameters={"numer_of_codes": 5})
    assert without_count.json()["errors"][0]["source"] == "data.parameters.numer_of_codes"
    # Nothing was created; spelled right, the prefix is used.
    assert api.list_jobs(promotion).json()["meta"]["results"]["total"] == 0
    created = api.create_job(promotion, parameters={"number_of_codes": 5, "code_prefix": "SUM-"})
    assert created.status_code == 201, created.text
    assert created.json()["data"]["parameters"] == {
        "number_of_codes": 5,
        "consume_unit": "per_cart",
        "code_length": 8,
        "code_prefix": "SUM-",
    }


@pytest.mark.parametrize("profile", ["default", "elasticpath"])
def test_create_export_job__any_parameter_is_400_and_empty_parameters_are_fine(
    make_server: MakeServer, profile: str
) -> None:
    api, promotion = _api_and_promotion(make_server, profile)
    refused = api.create_job(promotion, "code_export", parameters={"number_of_codes": 5})
    assert refused.json() == ep_error(
        400,
        "Bad Request",
        "unknown parameter for code_export: number_of_codes (it takes none)",
        "data.parameters.number_of_codes",
    )
    assert api.list_jobs(promotion).json()["meta"]["results"]["total"] == 0
    accepted = api.create_job(promotion, "code_export", parameters={})
    assert accepted.status_code == 201, accepted.text
    assert "parameters" not in accepted.json()["data"]
