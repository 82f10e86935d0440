"""OS-OAUTH1 consumers. The secret is shown once, when the consumer is made; only its
hash is kept. (The OAuth1 delegation flow itself is not offered.)"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import OAuthConsumer
from ..schemas.misc import ConsumerCreate, ConsumerUpdate
from .common import get_or_404, new_id, refuse_changes
from .passwords import hash_secret


def get_consumer(db: Session, consumer_id: str) -> OAuthConsumer:
    return get_or_404(db, OAuthConsumer, consumer_id, "consumer")


def create_consumer(db: Session, body: ConsumerCreate, hash_rounds: int) -> tuple[OAuthConsumer, str]:
    """The new consumer and its secret, in clear text for this once."""
    secret = secrets.token_hex(16)
    extra = {k: v for k, v in body.extras().items() if k != "secret"}  # the secret is ours to choose
    row = OAuthConsumer(id=new_id(), description=body.description, secret_hash=hash_secret(secret, hash_rounds), extra=extra)
    db.add(row)
    db.flush()
    return row, secret


def update_consumer(db: Session, consumer_id: str, body: ConsumerUpdate) -> OAuthConsumer:
    row = get_consumer(db, consumer_id)
    fields = body.model_fields_set
    refuse_changes(body, row, "consumer")
    if "description" in fields:
        row.description = body.description
    row.extra = {**(row.extra or {}), **body.extras()}
    return row


def list_consumers(db: Session) -> list[OAuthConsumer]:
    return list(db.scalars(select(OAuthConsumer).order_by(OAuthConsumer.id)))


def delete_consumer(db: Session, consumer_id: str) -> None:
    db.delete(get_consumer(db, consumer_id))
