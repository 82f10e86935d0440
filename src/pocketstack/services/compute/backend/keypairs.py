"""Keypairs: each belongs to one user (not a project) and is named uniquely per user.

The private half of a generated pair is returned to the caller and never stored."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.core.faults import BadRequest, Conflict, NotFound

from .. import keys
from ..models import KeyPair

# Nova's [api] max_limit: the most one page of a list holds
MAX_PAGE_SIZE = 1000


def get_keypair(db: Session, user_id: str, name: str) -> KeyPair:
    keypair = db.scalar(select(KeyPair).where(KeyPair.user_id == user_id, KeyPair.name == name))
    if keypair is None:
        raise NotFound(f"Keypair {name} not found for user {user_id}")
    return keypair


def list_keypairs(db: Session, user_id: str, *, limit: int | None = None, marker: str | None = None) -> list[KeyPair]:
    """A user's keypairs by name; after the keypair named `marker` when given."""
    query = select(KeyPair).where(KeyPair.user_id == user_id).order_by(KeyPair.name, KeyPair.id)
    if marker is not None:
        if db.scalar(select(KeyPair.id).where(KeyPair.user_id == user_id, KeyPair.name == marker)) is None:
            raise BadRequest(f"Marker {marker} could not be found.")
        query = query.where(KeyPair.name > marker)
    if limit is not None:
        query = query.limit(limit)
    return list(db.scalars(query))


def import_keypair(db: Session, user_id: str, name: str, public_key: str, key_type: str) -> KeyPair:
    try:
        fingerprint = keys.fingerprint(public_key, key_type)
    except keys.InvalidKey as exc:
        raise BadRequest(f"Keypair data is invalid: {exc}") from None
    return _store(db, user_id, name, public_key, fingerprint, key_type)


def generate_keypair(db: Session, user_id: str, name: str, key_type: str) -> tuple[KeyPair, str]:
    """A new pair; returns the stored keypair and the private key (PEM) to hand back once."""
    _check_free(db, user_id, name)  # before the (slow) generation
    generated = keys.generate_key_pair(key_type, user_id)
    return _store(db, user_id, name, generated.public_key, generated.fingerprint, key_type), generated.private_key


def delete_keypair(db: Session, user_id: str, name: str) -> None:
    db.delete(get_keypair(db, user_id, name))


def _check_free(db: Session, user_id: str, name: str) -> None:
    if db.scalar(select(KeyPair.id).where(KeyPair.user_id == user_id, KeyPair.name == name)) is not None:
        raise Conflict(f"Key pair '{name}' already exists.")


def _store(db: Session, user_id: str, name: str, public_key: str, fingerprint: str, key_type: str) -> KeyPair:
    _check_free(db, user_id, name)
    keypair = KeyPair(name=name, user_id=user_id, public_key=public_key, fingerprint=fingerprint, type=key_type)
    db.add(keypair)
    db.flush()  # assigns id and created_at for the answer
    return keypair
