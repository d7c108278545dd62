"""Users, passwords and signed tokens.

Passwords are hashed with Argon2id (pwdlib). A token — the bearer token of the JSON API and the
value of the browser's session cookie — is the user id signed with the installation's secret key
and a timestamp (itsdangerous), so it can be verified without a session table and expires.
CSRF tokens for forms are an HMAC of the session token: a page can only post what it rendered.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from matcher.errors import Conflict, InvalidInput
from matcher.store.db import session_scope
from matcher.store.tables import AuditLog, Organization, User

ROLES = ("admin", "coordinator", "company")
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


def create_user(engine: Engine, email: str, role: str, password: str, org_external_id: str | None = None,
                actor: str | None = None) -> User:
    email = normalize_account(email)
    if role not in ROLES:
        raise InvalidInput(f"役割は {', '.join(ROLES)} のいずれかです", f"role must be one of {', '.join(ROLES)}")
    if len(password) < 10:
        raise InvalidInput("パスワードは10文字以上にしてください", "password must be at least 10 characters")
    with session_scope(engine) as s:
        if s.exec(select(User).where(User.email == email)).first():
            raise Conflict(f"{email} は既に登録されています", f"user {email} already exists")
        org_id = None
        if role == "company":
            org = s.exec(select(Organization).where(Organization.external_id == (org_external_id or ""))).first()
            if org is None:
                raise InvalidInput("企業ユーザーには登録済みの企業IDが必要です", "a company user needs an existing organisation id")
            org_id = org.id
        user = User(email=email, password_hash=hash_password(password), role=role, org_id=org_id)
        s.add(user)
        s.add(AuditLog(actor=actor, action="user_create", target=email, detail={"role": role}))
        s.flush()
        return user


def authenticate(engine: Engine, email: str, password: str) -> User | None:
    with session_scope(engine) as s:
        user = s.exec(select(User).where(User.email == normalize_account(email))).first()
    if user is None or not user.active:
        hash_password("timing-equaliser")  # same cost whether or not the user exists
        return None
    return user if verify_password(password, user.password_hash) else None


class Tokens:
    def __init__(self, key: str) -> None:
        from itsdangerous import URLSafeTimedSerializer

        self.key = key
        self._s = URLSafeTimedSerializer(key, salt="matcher-session")

    def issue(self, user: User) -> str:
        return self._s.dumps({"uid": user.id})

    def user_id(self, token: str, max_age: int = TOKEN_MAX_AGE_S) -> int | None:
        from itsdangerous import BadSignature

        try:
            return int(self._s.loads(token, max_age=max_age)["uid"])
        except (BadSignature, KeyError, TypeError, ValueError):
            return None

    def csrf(self, session_token: str) -> str:
        return hmac.new(self.key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, session_token: str, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(self.csrf(session_token), value or "")


def normalize_account(email: str) -> str:
    """The account a login names: trimmed, NFKC, lower-case (「 Coordinator@… 」 is the same account)."""
    return unicodedata.normalize("NFKC", email or "").strip().lower()


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
