"""Key parsing, fingerprints and generation for os-keypairs (services/compute/keys.py)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from pocketstack.services.compute import keys


def openssh_line(private_key: object, comment: str = "me@host") -> str:
    line = private_key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()  # type: ignore[attr-defined]
    return f"{line} {comment}"


def md5_colon_hex_of_blob(line: str) -> str:
    digest = hashlib.md5(base64.b64decode(line.split()[1]), usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


@pytest.mark.parametrize(
    "private_key",
    [
        ed25519.Ed25519PrivateKey.generate(),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa.generate_private_key(public_exponent=65537, key_size=1024),  # Nova takes short RSA keys too
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP384R1()),
        ec.generate_private_key(ec.SECP521R1()),
    ],
    ids=["ed25519", "rsa2048", "rsa1024", "nistp256", "nistp384", "nistp521"],
)
def test_ssh_fingerprint_is_md5_of_the_key_blob(private_key: object) -> None:
    line = openssh_line(private_key)
    fingerprint = keys.ssh_fingerprint(line)
    assert fingerprint == md5_colon_hex_of_blob(line)
    assert len(fingerprint.split(":")) == 16
    # the comment and a trailing newline do not change the key
    assert keys.ssh_fingerprint(line.rsplit(" ", 1)[0] + "\n") == fingerprint


def test_known_fingerprint() -> None:
    # `ssh-keygen -l -E md5` prints MD5:0f:a2:... for this key (the 32 bytes 0..31)
    line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f kat"
    assert keys.ssh_fingerprint(line) == "0f:a2:0a:d7:38:3e:65:45:08:6b:63:84:1c:ff:dc:ba"


@pytest.mark.parametrize(
    "junk",
    [
        "",
        " ",
        "ssh-rsa JUNK nova@ubuntu",
        "ssh-rsa " + "A" * 2048 + " openstack@ubuntu",
        "ssh-ed25519",
        "not-a-type AAAAC3NzaC1lZDI1NTE5AAAAIA== x",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
    ],
)
def test_unparsable_ssh_keys_are_refused(junk: str) -> None:
    with pytest.raises(keys.InvalidKey):
        keys.ssh_fingerprint(junk)


def test_mismatched_key_type_is_refused() -> None:
    # an Ed25519 blob announced as ssh-rsa
    line = openssh_line(ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(keys.InvalidKey):
        keys.ssh_fingerprint("ssh-rsa " + line.split()[1])


def self_signed_pem() -> tuple[str, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), cert


def test_x509_fingerprint_is_sha1_of_der() -> None:
    pem, cert = self_signed_pem()
    expected = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    fingerprint = keys.x509_fingerprint(pem)
    assert fingerprint.replace(":", "") == expected and len(fingerprint.split(":")) == 20
    assert keys.fingerprint(pem, keys.X509) == fingerprint


@pytest.mark.parametrize("junk", ["", "ssh-ed25519 AAAA", "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"])
def test_unparsable_certificates_are_refused(junk: str) -> None:
    with pytest.raises(keys.InvalidKey):
        keys.x509_fingerprint(junk)


def test_generated_ssh_pair_matches_itself() -> None:
    pair = keys.generate_ssh_key_pair()
    assert pair.private_key.startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert pair.public_key.startswith("ssh-rsa ") and pair.public_key.endswith(" Generated-by-Nova")
    assert pair.fingerprint == keys.ssh_fingerprint(pair.public_key)
    private = serialization.load_pem_private_key(pair.private_key.encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 2048
    # the public line is the public half of that private key
    assert openssh_line(private, "Generated-by-Nova") == pair.public_key


def test_generated_x509_pair() -> None:
    pair = keys.generate_x509_key_pair("user-123")
    cert = x509.load_pem_x509_certificate(pair.public_key.encode())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "user-123"
    assert pair.fingerprint == keys.x509_fingerprint(pair.public_key)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    upn = san.get_values_for_type(x509.OtherName)[0]
    assert upn.type_id == keys.UPN_OID and upn.value == b"\x0c\x12user-123@localhost"
    private = serialization.load_pem_private_key(pair.private_key.encode(), password=None)
    assert private.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]


def test_der_utf8_string_long_form_length() -> None:
    encoded = keys._der_utf8_string("x" * 200)
    assert encoded[:3] == b"\x0c\x81\xc8" and len(encoded) == 203
