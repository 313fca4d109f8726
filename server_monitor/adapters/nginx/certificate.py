"""When the certificate a site's nginx configuration names runs out.

`ssl_certificate` names a PEM file whose first certificate is the site's own (the
chain follows it: WordOps and certbot write fullchain.pem). Certificates are public,
so reading one reveals nothing; the private key (ssl_certificate_key) is never read.
The file is read as configuration is (config.read_text: a regular file, bounded,
opened without blocking) and parsed with `cryptography`, already installed with
Twisted and daphne; a made-up parser of ASN.1 would be the wrong economy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from server_monitor.adapters.nginx.config import ConfigError, read_text

MAX_CERTIFICATE_BYTES = 256 * 1024
PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"


@dataclass(frozen=True)
class CertificateExpiry:
    not_after: datetime | None  # aware, UTC
    problem: str | None  # why it is not known, in words

    def days_left(self, now: datetime) -> int | None:
        """Whole days until it expires (negative once it has), or None when not known."""
        if self.not_after is None:
            return None
        return (self.not_after - now).days


def read_expiry(path: str) -> CertificateExpiry:
    try:
        data = read_text(path, MAX_CERTIFICATE_BYTES)
    except ConfigError as error:
        return CertificateExpiry(None, error.detail)
    start = data.find(PEM_BEGIN)
    if start < 0:
        return CertificateExpiry(None, f"{path} holds no PEM certificate.")
    try:
        certificate = x509.load_pem_x509_certificate(data[start:])
    except ValueError:
        return CertificateExpiry(None, f"{path}: its first certificate cannot be parsed.")
    return CertificateExpiry(certificate.not_valid_after_utc, None)
