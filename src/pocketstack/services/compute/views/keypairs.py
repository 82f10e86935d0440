"""Keypair records as Nova shows them, per microversion:

list entry:  {"keypair": {name, public_key, fingerprint, type (2.2+)}}
create:      name, public_key, fingerprint, user_id, type (2.2+), private_key (generated, < 2.92)
show:        create's fields + id, created_at, updated_at/deleted_at (null), deleted (false)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from pocketstack.core.microversions import Version

from ..models import KeyPair

# Nova's timestamps in this API: UTC, microseconds, no zone suffix (oslo's PERFECT_TIME_FORMAT)
NOVA_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def nova_time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).strftime(NOVA_TIME_FORMAT)


def summary(keypair: KeyPair, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {"name": keypair.name, "public_key": keypair.public_key, "fingerprint": keypair.fingerprint}
    if version >= "2.2":
        body["type"] = keypair.type
    return body


def created(keypair: KeyPair, version: Version, private_key: str | None = None) -> dict[str, Any]:
    body = {**summary(keypair, version), "user_id": keypair.user_id}
    if private_key is not None:
        body["private_key"] = private_key
    return body


def detail(keypair: KeyPair, version: Version) -> dict[str, Any]:
    return {
        **summary(keypair, version),
        "user_id": keypair.user_id,
        "deleted": False,
        "created_at": nova_time(keypair.created_at),
        "updated_at": None,
        "deleted_at": None,
        "id": keypair.id,
    }


def collection(keypairs: Sequence[KeyPair], version: Version) -> list[dict[str, Any]]:
    return [{"keypair": summary(keypair, version)} for keypair in keypairs]


def next_links(collection_url: str, keypairs: Sequence[KeyPair], page_size: int, query: dict[str, str]) -> list[dict[str, str]]:
    """Nova's "next" link: present when the page came back full, pointing after its last name
    and carrying the request's other query parameters (sorted, as Nova writes them)."""
    if not keypairs or page_size == 0 or len(keypairs) < page_size:
        return []
    params = dict(sorted(query.items()))
    params["marker"] = keypairs[-1].name
    return [{"rel": "next", "href": f"{collection_url}?{urlencode(params)}"}]
