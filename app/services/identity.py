"""Users, roles and permission claims; credential checks for both APIs."""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from app.errors import Forbidden, InvalidRequest, NotFound, Unauthorized
from app.services.context import Actor, Context, utcnow
from app.store import models as m

#: Every permission claim Baton knows (Keyfactor's names; the Camunda API maps onto them).
CLAIMS = (
    "/workflows/definitions/read/",
    "/workflows/definitions/modify/",
    "/workflows/instances/read/",
    "/workflows/instances/read/mine/",
    "/workflows/instances/read/pending/",
    "/workflows/instances/manage/",
)

_CACHE_SECONDS = 60.0
_cache: dict[tuple[str, bytes], tuple[float, Actor]] = {}
_cache_lock = threading.Lock()
_pepper = os.urandom(32)


def normalize_username(raw: str) -> str:
    """Keyfactor clients send ``DOMAIN\\user``; Baton users are plain names."""
    return raw.split("\\", 1)[1] if "\\" in raw else raw


def _actor_for(session, user: m.User) -> Actor:  # type: ignore[no-untyped-def]
    roles = list(session.scalars(select(m.Role).join(m.RoleMember, m.RoleMember.role_id == m.Role.id)
                                 .where(m.RoleMember.user_id == user.id)))
    role_ids = tuple(r.id for r in roles)
    claims = frozenset(session.scalars(select(m.RoleClaim.claim).where(m.RoleClaim.role_id.in_(role_ids)))) \
        if role_ids else frozenset()
    if user.is_admin:
        claims = frozenset(CLAIMS)
    return Actor(user_id=user.id, is_admin=user.is_admin, groups=tuple(r.name for r in roles),
                 role_ids=role_ids, claims=claims)


def authenticate(ctx: Context, username: str, password: str) -> Actor:
    """Check HTTP Basic credentials. Verified pairs are cached briefly: password hashing is
    deliberately slow and would otherwise dominate every request."""
    username = normalize_username(username)
    digest = hmac.new(_pepper, password.encode("utf-8"), hashlib.sha256).digest()
    key = (username, digest)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
    with ctx.db.transaction(readonly=True) as session:
        user = session.get(m.User, username)
        if user is None or not check_password_hash(user.password_hash, password):
            raise Unauthorized("Unauthorized")
        actor = _actor_for(session, user)
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[key] = (now + _CACHE_SECONDS, actor)
    return actor


def forget_cached_credentials() -> None:
    with _cache_lock:
        _cache.clear()


def require_claim(actor: Actor | None, claim: str) -> None:
    if actor is None:
        return  # authentication turned off: everything is allowed
    if actor.is_admin or claim in actor.claims:
        return
    raise Forbidden(f"The user '{actor.user_id}' does not have the permission '{claim}'")


def create_user(ctx: Context, user_id: str, password: str, *, is_admin: bool = False,
                first_name: str | None = None, last_name: str | None = None, email: str | None = None) -> m.User:
    if not user_id or "\\" in user_id:
        raise InvalidRequest("A user id must be non-empty and must not contain a backslash")
    with ctx.db.transaction() as session:
        if session.get(m.User, user_id) is not None:
            raise InvalidRequest(f"User '{user_id}' already exists")
        user = m.User(id=user_id, password_hash=generate_password_hash(password), is_admin=is_admin,
                      first_name=first_name, last_name=last_name, email=email, created=utcnow())
        session.add(user)
    forget_cached_credentials()  # a same-named user from before must not keep cached roles
    return user


def set_password(ctx: Context, user_id: str, password: str) -> None:
    with ctx.db.transaction() as session:
        user = session.get(m.User, user_id)
        if user is None:
            raise NotFound(f"User '{user_id}' does not exist")
        user.password_hash = generate_password_hash(password)
    forget_cached_credentials()


def delete_user(ctx: Context, user_id: str) -> None:
    with ctx.db.transaction() as session:
        user = session.get(m.User, user_id)
        if user is None:
            raise NotFound(f"User '{user_id}' does not exist")
        session.execute(delete(m.RoleMember).where(m.RoleMember.user_id == user_id))
        session.delete(user)
    forget_cached_credentials()


def list_users(ctx: Context) -> list[m.User]:
    with ctx.db.transaction(readonly=True) as session:
        return list(session.scalars(select(m.User).order_by(m.User.id)))


def ensure_admin(ctx: Context, user_id: str | None, password: str | None) -> bool:
    """Create the configured admin on first start, when no user exists yet."""
    if not user_id or not password:
        return False
    with ctx.db.transaction(readonly=True) as session:
        if session.scalars(select(m.User.id).limit(1)).first() is not None:
            return False
    try:
        create_user(ctx, user_id, password, is_admin=True)
    except (IntegrityError, InvalidRequest):
        return False  # another server process created it at the same moment
    return True


def create_role(ctx: Context, name: str, description: str | None = None, role_id: int | None = None) -> m.Role:
    with ctx.db.transaction() as session:
        if session.scalars(select(m.Role).where(m.Role.name == name)).first() is not None:
            raise InvalidRequest(f"Role '{name}' already exists")
        role = m.Role(name=name, description=description)
        if role_id is not None:
            role.id = role_id
        session.add(role)
        session.flush()
        return role


def find_role(session, ref: str | int) -> m.Role:  # type: ignore[no-untyped-def]
    role = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        role = session.get(m.Role, int(ref))
    if role is None:
        role = session.scalars(select(m.Role).where(m.Role.name == str(ref))).first()
    if role is None:
        raise NotFound(f"Role '{ref}' does not exist")
    return role


def grant(ctx: Context, role_ref: str | int, claim: str) -> None:
    if claim not in CLAIMS:
        raise InvalidRequest(f"Unknown permission '{claim}'; known: {', '.join(CLAIMS)}")
    with ctx.db.transaction() as session:
        role = find_role(session, role_ref)
        if session.get(m.RoleClaim, (role.id, claim)) is None:
            session.add(m.RoleClaim(role_id=role.id, claim=claim))
    forget_cached_credentials()


def add_member(ctx: Context, role_ref: str | int, user_id: str) -> None:
    with ctx.db.transaction() as session:
        role = find_role(session, role_ref)
        if session.get(m.User, user_id) is None:
            raise NotFound(f"User '{user_id}' does not exist")
        if session.get(m.RoleMember, (role.id, user_id)) is None:
            session.add(m.RoleMember(role_id=role.id, user_id=user_id))
    forget_cached_credentials()


def list_roles(ctx: Context) -> list[tuple[m.Role, list[str], list[str]]]:
    with ctx.db.transaction(readonly=True) as session:
        result = []
        for role in session.scalars(select(m.Role).order_by(m.Role.id)):
            members = list(session.scalars(select(m.RoleMember.user_id).where(m.RoleMember.role_id == role.id)))
            claims = list(session.scalars(select(m.RoleClaim.claim).where(m.RoleClaim.role_id == role.id)))
            result.append((role, members, claims))
        return result
