"""Sessions, passwords and login limits: what every worker shares about who is logged in.

Passwords are hashed with Argon2id (pwdlib). A token — the bearer token of the JSON API and the
value of the browser's session cookie — is a server-side session id signed with the
installation's secret key (itsdangerous); the session row in the database makes it expire and
lets logout, an admin or a password change revoke it for every worker at once. CSRF tokens are
an HMAC of the session token: a page can only post what it rendered. Login limits live in Redis
when it is configured, so several workers and machines count together.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from matcher.store.db import session_scope
from matcher.store.tables import AuthSession, User
from matcher.text import one_line

TOKEN_MAX_AGE_S = 12 * 3600


def _hasher():
    from pwdlib import PasswordHash

    return PasswordHash.recommended()  # Argon2id


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, hashed: str) -> bool:
    try:
        return _hasher().verify(password, hashed)
    except Exception:  # noqa: BLE001 — a malformed hash is simply "no"
        return False


def secret_key(data_dir: Path, configured: str | None = None) -> str:
    """The configured key, or one generated once per installation and kept in the data dir."""
    if configured:
        return configured
    path = data_dir / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class Tokens:
    """Server-side sessions behind signed tokens (the bearer token and the session cookie).

    A token is a session id signed with the installation's key; the session row says whose it is,
    until when, and whether it was revoked. Logout, an admin's revoke and a password change
    revoke rows, so a copied cookie or token stops working at once, on every worker.
    """

    def __init__(self, key: str, engine: Engine) -> None:
        from itsdangerous import URLSafeSerializer

        self.key, self.engine = key, engine
        self._s = URLSafeSerializer(key, salt="matcher-session-v2")

    def issue(self, user: User, kind: str = "cookie", max_age_s: int = TOKEN_MAX_AGE_S) -> str:
        sid = secrets.token_hex(16)
        now = datetime.now(UTC)
        with session_scope(self.engine) as s:
            s.add(AuthSession(id=sid, user_id=user.id, kind=kind, created_at=now,
                              expires_at=now + timedelta(seconds=max_age_s)))
        return self._s.dumps({"sid": sid})

    def _sid(self, token: str) -> str | None:
        from itsdangerous import BadSignature

        try:
            sid = self._s.loads(token)["sid"]
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        return sid if isinstance(sid, str) and len(sid) == 32 else None

    def user(self, token: str) -> User | None:
        """The active user of a live session, or None (bad signature, expired, revoked, disabled)."""
        sid = self._sid(token)
        if sid is None:
            return None
        with session_scope(self.engine) as s:
            row = s.exec(select(AuthSession, User).where(AuthSession.id == sid, AuthSession.user_id == User.id)).first()
        if row is None:
            return None
        sess, user = row
        if sess.revoked_at is not None or sess.expires_at <= datetime.now(UTC) or not user.active:
            return None
        return user

    def revoke(self, token: str) -> bool:
        sid = self._sid(token)
        if sid is None:
            return False
        with session_scope(self.engine) as s:
            sess = s.get(AuthSession, sid)
            if sess is None or sess.revoked_at is not None:
                return False
            sess.revoked_at = datetime.now(UTC)
            s.add(sess)
        return True

    def csrf(self, session_token: str) -> str:
        return hmac.new(self.key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, session_token: str, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(self.csrf(session_token), value or "")


def normalize_account(email: str) -> str:
    """The account a login names: trimmed, NFKC, lower-case (「 Coordinator@… 」 is the same account)."""
    return unicodedata.normalize("NFKC", one_line(email or "")).strip().lower()


class LoginLimiter:
    """Login attempts limited per account and per client address (``limits``, moving window).

    The store is Redis when ``MATCHER_REDIS_URL`` is set, so every worker and machine shares the
    counters; otherwise process memory (one worker). Per account stops guessing one password
    from many addresses; per address stops spraying one password across many accounts.
    """

    def __init__(self, storage_uri: str = "memory://", per_account: str = "5/minute",
                 per_address: str = "20/minute") -> None:
        from limits import parse, storage, strategies

        self.storage_uri = storage_uri
        self._strategy = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri))
        self._account, self._address = parse(per_account), parse(per_address)

    def allow(self, account: str, address: str) -> bool:
        """Counts one attempt against both limits; False when either is exhausted."""
        address_ok = self._strategy.hit(self._address, "login-address", address or "-")
        account_ok = self._strategy.hit(self._account, "login-account", normalize_account(account))
        return address_ok and account_ok

    def reset(self, account: str) -> None:
        """A successful login clears its account's counter (the address keeps its own)."""
        self._strategy.clear(self._account, "login-account", normalize_account(account))
