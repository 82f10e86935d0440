"""A server's encrypted password (Nova's os-server-password).

The guest agent (cloud-init, cloudbase-init) makes a password, encrypts it with the
server's public key and POSTs it, base64, to the metadata service at
/openstack/<version>/password. Nova keeps it in the server's system_metadata in four
255-character chunks, password_0 .. password_3; the owner reads it back through the
compute API (and decrypts it with the private key) and may clear it. We keep it the same
way, so a server row looks like Nova's."""

from __future__ import annotations

from pocketstack.core.faults import BadRequest, Conflict
from pocketstack.drivers.compute.configdrive import GRIZZLY, LATEST, OPENSTACK_VERSIONS

from ..models import Server

CHUNKS = 4
CHUNK_LENGTH = 255
MAX_LENGTH = CHUNKS * CHUNK_LENGTH
KEY_PREFIX = "password_"
FILE_NAME = "password"
# the metadata versions that have the password file (Nova: Grizzly on)
VERSIONS = (*OPENSTACK_VERSIONS[OPENSTACK_VERSIONS.index(GRIZZLY) :], LATEST)


def password_of(server: Server) -> str:
    """The stored password, "" when none was set or it was cleared."""
    meta = server.system_metadata or {}
    return "".join(str(meta[key] or "") for key in sorted(meta) if key.startswith(KEY_PREFIX))


def store(server: Server, password: str) -> None:
    """Nova writes every chunk, empty ones too: clearing leaves password_0..3 = ""."""
    chunks = {f"{KEY_PREFIX}{i}": password[i * CHUNK_LENGTH : (i + 1) * CHUNK_LENGTH] for i in range(CHUNKS)}
    # a new dict, so that the JSON column sees the change
    server.system_metadata = {**(server.system_metadata or {}), **chunks}


def clear(server: Server) -> None:
    store(server, "")


# -- the metadata service side ----------------------------------------------------------------
def is_password_path(path: str) -> bool:
    """openstack/<version>/password, for the versions that have it."""
    parts = path.strip("/").split("/")
    return len(parts) == 3 and parts[0] == "openstack" and parts[1] in VERSIONS and parts[2] == FILE_NAME


def metadata_files(server: Server) -> dict[str, bytes]:
    """The password file of every version that has one, as the metadata service lists and
    serves it (not on the config drive: Nova leaves it off, the guest writes it later)."""
    current = password_of(server).encode()
    return {f"openstack/{version}/{FILE_NAME}": current for version in VERSIONS}


def set_by_guest(server: Server, body: bytes) -> None:
    """The guest may set its password once; Nova answers a second POST with 409 and keeps
    the first (the owner clears it through the API to let the guest set a new one)."""
    if password_of(server):
        raise Conflict("There was a conflict when trying to complete your request.")
    if len(body) > MAX_LENGTH:
        raise BadRequest("Request is too large.")
    try:
        password = body.decode()
    except UnicodeDecodeError:
        raise BadRequest("The password must be text (base64 of the encrypted password).") from None
    store(server, password)
