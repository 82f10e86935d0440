"""Key material for Nova's keypairs: parse what users import, fingerprint it the way Nova
does, and generate new pairs (the private half is handed back once and never stored).

    ssh_fingerprint("ssh-ed25519 AAAA... me@host")   -> "3f:1a:...:c2"  (MD5 of the key blob)
    x509_fingerprint("-----BEGIN CERTIFICATE-----...") -> "9b:...:04"   (SHA1 of the DER)
    generate_ssh_key_pair()                          -> GeneratedKeyPair(private_key, public_key, fingerprint)

Nova accepts any public key the `cryptography` package can load (RSA of any size, ECDSA,
Ed25519, ...): the same test decides here, so keys Nova takes are taken and junk is not.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

SSH = "ssh"
X509 = "x509"
KEY_TYPES = (SSH, X509)

GENERATED_KEY_BITS = 2048
# what Nova writes as the comment of the public keys it generates
GENERATED_COMMENT = "Generated-by-Nova"
# Microsoft's User Principal Name, the subjectAltName WinRM certificate authentication maps to a user
UPN_OID = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")
CERTIFICATE_LIFETIME = dt.timedelta(days=3650)


class InvalidKey(ValueError):
    """The public key (or certificate) cannot be parsed; the message says why."""


@dataclass(frozen=True)
class GeneratedKeyPair:
    private_key: str  # PEM, shown to the user once
    public_key: str  # what is stored: an OpenSSH public key line or a PEM certificate
    fingerprint: str


def colon_hex(digest: bytes) -> str:
    return ":".join(f"{byte:02x}" for byte in digest)


def ssh_fingerprint(public_key: str) -> str:
    """Nova's fingerprint of an OpenSSH public key line: MD5 of the decoded key blob, as colon hex."""
    try:
        data = public_key.encode("utf-8")
        # loading proves it is a key (right type, well-formed numbers), not just base64
        serialization.load_ssh_public_key(data)
        blob = base64.b64decode(data.split()[1], validate=True)
    # ValueError for junk, UnsupportedAlgorithm for unknown key types, binascii.Error, UnicodeError...
    except Exception as exc:
        raise InvalidKey(f"failed to generate fingerprint: {_reason(exc)}") from None
    return colon_hex(hashlib.md5(blob, usedforsecurity=False).digest())


def x509_fingerprint(certificate_pem: str) -> str:
    """Nova's fingerprint of a PEM certificate: SHA1 of its DER encoding, as colon hex."""
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode("utf-8"))
    except (ValueError, TypeError, UnicodeError) as exc:
        raise InvalidKey(f"failed to generate X509 fingerprint. Error message: {_reason(exc)}") from None
    return colon_hex(certificate.fingerprint(hashes.SHA1()))


def fingerprint(public_key: str, key_type: str) -> str:
    return x509_fingerprint(public_key) if key_type == X509 else ssh_fingerprint(public_key)


def generate_ssh_key_pair() -> GeneratedKeyPair:
    """A new RSA pair as Nova makes it: the private key in PEM ("BEGIN RSA PRIVATE KEY",
    which ssh and every client read), the public one as an OpenSSH line."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=GENERATED_KEY_BITS)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public_line = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode("ascii")
    public_key = f"{public_line} {GENERATED_COMMENT}"
    return GeneratedKeyPair(private_pem.decode("ascii"), public_key, ssh_fingerprint(public_key))


def generate_x509_key_pair(user_id: str) -> GeneratedKeyPair:
    """A self-signed client certificate for WinRM, as Nova generates for type x509:
    subject CN=<user_id>, clientAuth usage, UPN <user_id>@localhost."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=GENERATED_KEY_BITS)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id)])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(uuid.uuid4().int >> 1)  # positive, at most 127 bits
        .not_valid_before(now)
        .not_valid_after(now + CERTIFICATE_LIFETIME)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.OtherName(UPN_OID, _der_utf8_string(f"{user_id}@localhost"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return GeneratedKeyPair(private_pem.decode("ascii"), certificate_pem, x509_fingerprint(certificate_pem))


def generate_key_pair(key_type: str, user_id: str) -> GeneratedKeyPair:
    return generate_x509_key_pair(user_id) if key_type == X509 else generate_ssh_key_pair()


def _der_utf8_string(text: str) -> bytes:
    """DER of an ASN.1 UTF8String (an OtherName's value is raw DER)."""
    data = text.encode("utf-8")
    if len(data) < 0x80:
        length = bytes([len(data)])
    else:
        size = len(data).to_bytes((len(data).bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(size)]) + size
    return b"\x0c" + length + data


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
