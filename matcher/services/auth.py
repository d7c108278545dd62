"""Users: accounts, their roles and organisation, log-in checks, password changes and revoking
their sessions (the sessions themselves are ``matcher.infra.sessions``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import func, select

from matcher.errors import Conflict, InvalidInput, NotFound
from matcher.infra.sessions import hash_password, normalize_account, verify_password
from matcher.labels import ROLE_JA
from matcher.store.db import session_scope
from matcher.store.tables import AuditLog, AuthSession, Organization, User

ROLES = ("admin", "coordinator", "company")


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


def revoke_sessions(engine: Engine, user_id: int, actor: str | None = None, why: str = "revoke") -> int:
    """Revoke every live session of a user; returns how many."""
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        live = s.exec(select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))).all()
        for sess in live:
            sess.revoked_at = now
            s.add(sess)
        s.add(AuditLog(actor=actor, action="sessions_revoke", target=f"user:{user_id}",
                       detail={"sessions": len(live), "why": why}))
    return len(live)


def password_matches(user: User, password: str) -> bool:
    """The current password, checked before a change (the caller counts failures as logins)."""
    return verify_password(password, user.password_hash)


def set_password(engine: Engine, user_id: int, password: str, actor: str | None = None) -> int:
    """A new password revokes every session of the user (a stolen cookie dies with the old one)."""
    if len(password) < 10:
        raise InvalidInput("パスワードは10文字以上にしてください", "password must be at least 10 characters")
    with session_scope(engine) as s:
        user = s.get(User, user_id)
        if user is None:
            raise NotFound(f"利用者 {user_id} はいません", f"no user {user_id}")
        user.password_hash = hash_password(password)
        s.add(user)
    return revoke_sessions(engine, user_id, actor, why="password")


def find_user(engine: Engine, email: str) -> User:
    with session_scope(engine) as s:
        user = s.exec(select(User).where(User.email == normalize_account(email))).first()
    if user is None:
        raise NotFound(f"利用者 {email} はいません", f"no user {email!r}")
    return user




@dataclass(frozen=True, kw_only=True)
class UserRow:
    """A user as the admin page lists them."""

    id: int
    email: str
    role: str
    role_ja: str
    active: bool
    org: str
    sessions: int
    created_at: datetime


def list_users(engine: Engine) -> list[UserRow]:
    with session_scope(engine) as s:
        users = s.exec(select(User).order_by(User.email)).all()
        orgs = {o.id: o for o in s.exec(select(Organization).where(
            Organization.id.in_([u.org_id for u in users if u.org_id] or [-1])))}
        live = dict(s.exec(select(AuthSession.user_id, func.count()).where(AuthSession.revoked_at.is_(None))
                           .group_by(AuthSession.user_id)).all())
    return [UserRow(id=u.id, email=u.email, role=u.role, role_ja=ROLE_JA.get(u.role, u.role), active=u.active,
                    org=orgs[u.org_id].name if u.org_id in orgs else "", sessions=live.get(u.id, 0),
                    created_at=u.created_at) for u in users]


def set_active(engine: Engine, user_id: int, active: bool, actor: str | None) -> User:
    """Enable or disable an account; disabling revokes every session at once."""
    with session_scope(engine) as s:
        target = s.get(User, user_id)
        if target is None:
            raise NotFound("利用者が見つかりません", f"no user {user_id}")
        target.active = active
        s.add(target)
        s.add(AuditLog(actor=actor, action="user_active", target=target.email, detail={"active": active}))
    if not active:
        revoke_sessions(engine, user_id, actor=actor, why="disabled")
    return target
