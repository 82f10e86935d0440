"""/v3/credentials and the OS-EC2 view of them. Blobs are encrypted at rest with Fernet,
as Keystone's credential provider does, with keys of their own in
<data_dir>/credential-keys (a key repository like the token one): the token keys can
rotate freely without making stored secrets unreadable.

An ec2 credential's blob is JSON with "access" and "secret"; its id is the sha256 of
the access key, so the key alone finds the credential (GET .../OS-EC2/{access}).
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pocketstack.core.faults import BadRequest, Conflict, NotFound

from ..models import Credential, Project, User
from ..schemas.credentials import CredentialCreate, CredentialUpdate
from ..tokens import KeyRepository
from .common import get_or_404, refuse_changes

EC2 = "ec2"
# blob keys that bind an ec2 credential to the delegation it was made with: never changed
SCOPE_KEYS = ("trust_id", "app_cred_id", "access_token_id", "access_id")


class CredentialCipher:
    """Encrypts blobs with the primary key; decrypts with any key still in the repository."""

    def __init__(self, directory: Path) -> None:
        self.repository = KeyRepository(directory)
        self.repository.ensure()
        keys = self.repository.keys()
        self._primary_hash = hashlib.sha1(keys[0]).hexdigest()  # nosec - a key fingerprint, as Keystone's
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, text: str) -> tuple[str, str]:
        return self._fernet.encrypt(text.encode()).decode(), self._primary_hash

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise BadRequest("The credential could not be decrypted: its key is no longer in the key repository.") from None


_ciphers: dict[Path, CredentialCipher] = {}
_ciphers_lock = threading.Lock()


def cipher_for(data_dir: Path) -> CredentialCipher:
    """One cipher per data directory, made on first use (the keys are read once)."""
    directory = Path(data_dir) / "credential-keys"
    with _ciphers_lock:
        found = _ciphers.get(directory)
        if found is None:
            found = _ciphers[directory] = CredentialCipher(directory)
        return found


# -- blobs ---------------------------------------------------------------------------------


def ec2_blob(blob: str) -> dict[str, Any]:
    """An ec2 blob parsed: a JSON object with an access key, else 400."""
    try:
        data = json.loads(blob)
    except ValueError:
        raise BadRequest("Invalid blob in credential.") from None
    if not isinstance(data, dict) or not data:
        raise BadRequest("Invalid input for field 'blob': an ec2 blob is a JSON object.")
    if not isinstance(data.get("access"), str) or not data["access"]:
        raise BadRequest("Invalid input for field 'blob': an ec2 blob needs an 'access' key.")
    return data


def hash_access_key(access: str) -> str:
    return hashlib.sha256(access.encode()).hexdigest()


def blob_of(cipher: CredentialCipher, row: Credential) -> str:
    return cipher.decrypt(row.encrypted_blob)


def _store_blob(cipher: CredentialCipher, row: Credential, blob: str) -> None:
    row.encrypted_blob, row.key_hash = cipher.encrypt(blob)


# -- CRUD ------------------------------------------------------------------------------------


def create_credential(
    db: Session, cipher: CredentialCipher, body: CredentialCreate, delegation: dict[str, str | None]
) -> Credential:
    """`delegation` (trust_id / app_cred_id of the caller's token) is written into an ec2
    blob, so EC2 tokens made from it carry the same limits as the token that made it."""
    blob = body.blob
    if body.type == EC2:
        data = ec2_blob(blob)
        scoped = {k: v for k, v in delegation.items() if v is not None}
        if scoped:
            data.update(scoped)
            blob = json.dumps(data)
        cred_id = hash_access_key(data["access"])
    else:
        cred_id = uuid.uuid4().hex
    if db.get(Credential, cred_id) is not None:
        raise Conflict(f"Conflict occurred attempting to store credential - Duplicate ID, {cred_id}.")
    row = Credential(id=cred_id, user_id=body.user_id, project_id=body.project_id, type=body.type, extra=body.extras())
    _store_blob(cipher, row, blob)
    db.add(row)
    db.flush()
    return row


def list_credentials(db: Session, user_id: str | None = None, type_: str | None = None) -> list[Credential]:
    q = select(Credential)
    if user_id is not None:
        q = q.where(Credential.user_id == user_id)
    if type_ is not None:
        q = q.where(Credential.type == type_)
    return list(db.scalars(q.order_by(Credential.id)))


def get_credential(db: Session, credential_id: str) -> Credential:
    return get_or_404(db, Credential, credential_id, "credential")


def update_credential(db: Session, cipher: CredentialCipher, row: Credential, body: CredentialUpdate) -> Credential:
    fields = body.model_fields_set
    refuse_changes(body, row, "credential")
    new_type = body.type if "type" in fields and body.type is not None else row.type
    new_project = body.project_id if "project_id" in fields else row.project_id
    if new_type == EC2 and not new_project:
        raise BadRequest("Invalid input for field 'project_id': an ec2 credential requires a project.")
    if new_type == EC2:
        new = ec2_blob(body.blob if body.blob is not None else blob_of(cipher, row))
        old = ec2_blob(blob_of(cipher, row)) if row.type == EC2 else {}
        for key in SCOPE_KEYS:
            if row.type == EC2 and old.get(key) != new.get(key):
                raise BadRequest(f"{key} can not be updated for credential.")
    if "user_id" in fields and body.user_id is not None:
        row.user_id = body.user_id
    row.type = new_type
    row.project_id = new_project
    if body.blob is not None:
        _store_blob(cipher, row, body.blob)
    if body.extras():
        row.extra = {**(row.extra or {}), **body.extras()}
    return row


def delete_credential(db: Session, row: Credential) -> None:
    db.delete(row)


def delete_credentials_for_user(db: Session, user_id: str) -> None:
    """For whoever deletes a user: their credentials go with them (as in Keystone)."""
    db.execute(delete(Credential).where(Credential.user_id == user_id))


def delete_credentials_for_project(db: Session, project_id: str) -> None:
    db.execute(delete(Credential).where(Credential.project_id == project_id))


# -- OS-EC2 ----------------------------------------------------------------------------------


def create_ec2(db: Session, cipher: CredentialCipher, user_id: str, project_id: str, trust_id: str | None) -> tuple[Credential, dict[str, Any]]:
    get_or_404(db, User, user_id, "user")
    project = db.get(Project, project_id)
    if project is None or project.is_domain:
        raise NotFound(f"Could not find project: {project_id}.")
    data = {"access": uuid.uuid4().hex, "secret": uuid.uuid4().hex, "trust_id": trust_id}
    row = Credential(id=hash_access_key(data["access"]), user_id=user_id, project_id=project_id, type=EC2, extra={})
    _store_blob(cipher, row, json.dumps(data))
    db.add(row)
    db.flush()
    return row, data


def list_ec2(db: Session, user_id: str) -> list[Credential]:
    get_or_404(db, User, user_id, "user")
    return list_credentials(db, user_id, EC2)


def get_ec2(db: Session, user_id: str, access: str) -> Credential:
    """The ec2 credential of this user with this access key, else 404."""
    get_or_404(db, User, user_id, "user")
    row = db.get(Credential, hash_access_key(access))
    if row is None or row.type != EC2 or row.user_id != user_id:
        raise NotFound(f"Could not find credential: {access}.")
    return row
