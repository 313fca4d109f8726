"""Real certificates for the certificate rule, made with `cryptography` (self-signed, EC P-256)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def certificate_pem(name: str, expires_in: timedelta) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    not_after = now + expires_in
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(min(now, not_after) - timedelta(days=90))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name), x509.DNSName(f"www.{name}")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def install_live(folder: Path, name: str, expires_in: timedelta) -> Path:
    """FOLDER/NAME/fullchain.pem as certbot and acme.sh leave it (the leaf first, then a CA)."""
    directory = folder / name
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "fullchain.pem"
    path.write_bytes(certificate_pem(name, expires_in) + certificate_pem("ca.example", timedelta(days=900)))
    return path
