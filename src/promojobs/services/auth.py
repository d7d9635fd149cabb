"""Client credentials and bearer tokens.

Client secrets are stored with argon2 (a slow password hash). Tokens are 160 random bits, stored as their
SHA-256 (they are high-entropy, so a fast hash is enough) and looked up by that hash, so comparing a token
never leaks timing about its value.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import string
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from promojobs.domain.errors import Forbidden, InvalidCredentials, Unauthorized, ValidationFailed
from promojobs.services.throttle import StoreRateLimit
from promojobs.services.token_cache import TokenCache
from promojobs.store import auth as auth_store
from promojobs.store.database import Database, now_us

CLIENT_CREDENTIALS = "client_credentials"
IMPLICIT = "implicit"
MAX_TOKEN_CHARS = 200
_BEARER = "bearer"
_hasher = PasswordHasher()
_CLIENT_ID_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Principal:
    client_id: str
    store_id: int
    grant_type: str
    expires_at: int = 0  # token expiry, epoch microseconds


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: int
    expires: int
    identifier: str

    def as_wire(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "expires": self.expires,
            "identifier": self.identifier,
        }


class BootstrapOutcome(enum.Enum):
    CREATED = "created"
    EXISTS = "exists"
    OTHER_SECRET = "exists with another secret"  # noqa: S105 (a state, not a secret)
    REVOKED = "revoked"


@dataclass(frozen=True)
class NewClient:
    client_id: str
    client_secret: str
    store: str


def new_client_id() -> str:
    """32 random letters and digits (190 bits), the shape of Elastic Path's client ids: never starting with
    `-`, which a command line would take for an option (`promojobs clients revoke <id>`), and safe in any
    URL or form."""
    return "".join(secrets.choice(_CLIENT_ID_ALPHABET) for _ in range(32))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthService:
    def __init__(self, database: Database, token_seconds: int, token_cache_seconds: float) -> None:
        self.database = database
        self.token_seconds = token_seconds
        self._recent: TokenCache[Principal] = TokenCache(token_cache_seconds)
        # Verified against when the client_id is unknown, so both failures cost the same time. Made here,
        # not at import, so commands that never check a secret (the HTTP client's) start without it.
        self._dummy_hash = _hasher.hash(secrets.token_urlsafe(16))

    def create_client(self, store: str) -> NewClient:
        client = NewClient(client_id=new_client_id(), client_secret=secrets.token_urlsafe(32), store=store)
        with self.database.write() as conn:
            store_id = auth_store.get_or_create_store(conn, store)
            auth_store.insert_client(conn, store_id, client.client_id, _hasher.hash(client.client_secret))
        return client

    def bootstrap_client(self, store: str, client_id: str, client_secret: str) -> BootstrapOutcome:
        """Create the client (and its store) if no client has that id; never change one that exists.

        A client that exists is left exactly as it is: a revoked one stays revoked and a secret that differs
        from ``client_secret`` is kept, so a restart with an old environment cannot bring back a credential
        that was revoked or rotated.
        """
        with self.database.write() as conn:
            existing = auth_store.find_client(conn, client_id)
            if existing is None:
                store_id = auth_store.get_or_create_store(conn, store)
                auth_store.insert_client(conn, store_id, client_id, _hasher.hash(client_secret))
                return BootstrapOutcome.CREATED
        if existing.revoked:
            return BootstrapOutcome.REVOKED
        if not _secret_matches(existing.secret_hash, client_secret):
            return BootstrapOutcome.OTHER_SECRET
        return BootstrapOutcome.EXISTS

    def has_clients(self) -> bool:
        with self.database.read() as conn:
            return auth_store.count_clients(conn) > 0

    def list_clients(self) -> list[auth_store.ClientListing]:
        with self.database.read() as conn:
            return auth_store.list_clients(conn)

    def revoke_client(self, client_id: str) -> bool:
        with self.database.write() as conn:
            revoked = auth_store.revoke_client(conn, client_id)
        self._recent.forget_owner(client_id)
        return revoked

    def issue_token(self, grant_type: str, client_id: str, client_secret: str | None) -> TokenGrant:
        if grant_type not in (CLIENT_CREDENTIALS, IMPLICIT):
            raise ValidationFailed(
                "grant_type must be client_credentials or implicit", source="grant_type", title="Bad Request"
            )
        client = None
        if client_id.isprintable():  # no client id has control characters (PostgreSQL refuses NUL)
            with self.database.read() as conn:
                client = auth_store.find_client(conn, client_id)
        self._check_credentials(client, grant_type, client_secret)
        assert client is not None
        token = secrets.token_hex(20)
        expires_at = now_us() + self.token_seconds * 1_000_000
        with self.database.write() as conn:
            auth_store.insert_token(conn, hash_token(token), client, grant_type, expires_at)
        return TokenGrant(token, self.token_seconds, expires_at // 1_000_000, grant_type)

    def recently_seen(self, token: str) -> tuple[Principal | None, bool]:
        """The caller of a token validated in the last few seconds, from memory only (else ``None``), and
        whether ``refresh`` should confirm it now (true once per confirmation)."""
        key, now = hash_token(token), now_us()
        principal = self._recent.get(key, now)
        return principal, principal is not None and self._recent.refresh_due(key, now)

    def refresh(self, token: str) -> None:
        """Confirm a recently seen token with the database ahead of its entry's lapse, or forget it if it is
        no longer live (revoked, expired). Blocking."""
        key = hash_token(token)
        try:
            self._look_up(key, now_us())
        except Exception:
            self._recent.forget(key)  # the next request asks the database itself, and answers for it
            raise

    def authenticate(self, token: str) -> Principal:
        key = hash_token(token)
        now = now_us()
        cached = self._recent.get(key, now)
        if cached is not None:
            return cached
        return self._look_up(key, now)

    def _look_up(self, key: str, now: int) -> Principal:
        """The token's caller from the database, trusted from ``now`` (taken before the query). Not kept if
        a client was revoked here while the query ran: it may have read the token before the revocation."""
        revocations = self._recent.revocations
        with self.database.read() as conn:
            record = auth_store.find_live_token(conn, key, now)
        if record is None:
            self._recent.forget(key)
            raise Unauthorized()
        principal = Principal(record.client_id, record.store_id, record.grant_type, record.expires_at)
        self._recent.put(key, principal, record.client_id, now, record.expires_at, revocations)
        return principal

    def _check_credentials(
        self, client: auth_store.ClientRecord | None, grant_type: str, client_secret: str | None
    ) -> None:
        if grant_type == IMPLICIT:
            if client is None or client.revoked:
                raise InvalidCredentials()
            return
        if client is None:
            _secret_matches(self._dummy_hash, client_secret or "")
            raise InvalidCredentials()
        if not _secret_matches(client.secret_hash, client_secret or "") or client.revoked:
            raise InvalidCredentials()


class PromotionAccess:
    """Who may call a promotion route: THE rules, for the route dependency and the read cache's fast path
    alike. A bearer token (``Authorization: Bearer …``, at most 200 characters) of a live
    client_credentials grant (implicit tokens are read-only storefront tokens: 403), within its store's
    rate limit (429)."""

    def __init__(self, auth: AuthService, rate_limit: StoreRateLimit) -> None:
        self.auth = auth
        self.rate_limit = rate_limit

    def remembered(self, authorization: str | None) -> tuple[Principal | None, str | None]:
        """The admitted caller if the token was validated in the last few seconds (memory only, so safe on
        the event loop), ``None`` when only the database can tell; and the token if it is due to be
        confirmed ahead of time (``confirm``). Raises as ``admit`` does."""
        token = bearer_token(authorization)
        principal, due = self.auth.recently_seen(token)
        if principal is None:
            return None, None
        return self._admitted(principal), token if due else None

    def confirm(self, token: str) -> None:
        """Confirm a remembered token with the database ahead of its lapse (blocking)."""
        self.auth.refresh(token)

    def admit(self, authorization: str | None) -> Principal:
        """The admitted caller; may look the token up in the database (blocking: off the event loop)."""
        return self._admitted(self.auth.authenticate(bearer_token(authorization)))

    def _admitted(self, principal: Principal) -> Principal:
        if principal.grant_type == IMPLICIT:
            raise Forbidden()
        self.rate_limit.check(principal.store_id)
        return principal


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization`` header, read as FastAPI's HTTPBearer reads it (the scheme in any
    case, a space, the rest stripped); 401 when there is none or it is longer than any token issued."""
    scheme, _, rest = (authorization or "").partition(" ")
    token = rest.strip()
    if scheme.lower() != _BEARER or not token or len(token) > MAX_TOKEN_CHARS:
        raise Unauthorized()
    return token


def _secret_matches(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False
