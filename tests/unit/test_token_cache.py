"""The token cache's trust, confirmation ahead of time and revocation, on an explicit clock (microseconds)."""

from __future__ import annotations

from promojobs.services.token_cache import TokenCache

TTL = 1_000_000  # 1 s
FAR = 10**15  # a token expiry far away


def _cache_with(key: str = "k", at: int = 0, expires: int = FAR) -> TokenCache[str]:
    cache: TokenCache[str] = TokenCache(TTL / 1_000_000)
    cache.put(key, "caller", "owner", at, expires, cache.revocations)
    return cache


def test_refresh_due__only_in_the_second_half_of_the_trust_and_once_per_confirmation() -> None:
    cache = _cache_with()
    assert not cache.refresh_due("k", TTL // 2 - 1)
    assert cache.refresh_due("k", TTL // 2)
    assert not cache.refresh_due("k", TTL // 2 + 1)  # one confirmation is under way
    cache.put("k", "caller", "owner", TTL // 2, FAR, cache.revocations)  # it answered
    assert cache.get("k", TTL + 1) == "caller"  # trusted from the confirmation, past the first trust
    assert not cache.refresh_due("k", TTL - 1)
    assert cache.refresh_due("k", TTL)


def test_refresh_due__never_after_the_trust_lapsed_nor_when_it_ends_at_the_tokens_expiry() -> None:
    cache = _cache_with()
    assert cache.get("k", TTL) is None
    assert not cache.refresh_due("k", TTL)  # lapsed: the next request looks the token up itself
    near_expiry = _cache_with(expires=TTL // 2)
    assert not near_expiry.refresh_due("k", TTL // 4 + 1)  # confirming cannot extend it


def test_put__a_lookup_begun_before_a_revocation_here_is_not_kept() -> None:
    cache = _cache_with()
    before = cache.revocations  # a confirmation starts its query
    cache.forget_owner("owner")  # the client is revoked in this process meanwhile
    cache.put("k", "caller", "owner", 1, FAR, before)  # the query read the token before the revocation
    assert cache.get("k", 2) is None
    cache.put("k", "caller", "owner", 3, FAR, cache.revocations)  # a lookup begun after it is kept
    assert cache.get("k", 4) == "caller"


def test_forget__drops_the_entry_and_its_pending_confirmation() -> None:
    cache = _cache_with()
    assert cache.refresh_due("k", TTL // 2)
    cache.forget("k")
    assert cache.get("k", TTL // 2) is None
    cache.put("k", "caller", "owner", TTL // 2, FAR, cache.revocations)
    assert cache.refresh_due("k", TTL)  # not still marked as under way
