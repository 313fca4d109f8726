"""TLS certificate files: which ones a folder of live certificates holds, and when each expires.

The only code that reads certificates: the alerts' certificate rule and each WordPress
site's figures (the file its nginx `ssl_certificate` names) ask it alike. A file must
open and be of a sane size (a chain is a few KiB); then its first PEM certificate, the
leaf, is decoded by the standard library's `ssl` (OpenSSL, already loaded for HTTPS),
through `_ssl._test_decode_cert`, the decoder behind `SSLSocket.getpeercert()`. It is
private API, kept since Python 2.7 for the ssl tests: used because `cryptography` would
cost the long-running watcher 8 MiB of its 60 for one date (docs/architecture.md).
Should a Python lack it, `cryptography` decodes instead. What cannot be read says why
in words (missing, permission denied, not a PEM certificate), since an unreadable
certificate is something to fix too.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_BYTES = 256 * 1024  # a chain of a dozen certificates is ~20 KiB
# Per folder, the file the web server is usually given: certbot's and acme.sh's full chain
# (its first certificate is the leaf), else the leaf alone.
CANDIDATES = ("fullchain.pem", "cert.pem")


@dataclass(frozen=True)
class Certificate:
    path: str
    not_after: datetime | None  # aware, UTC; None when it could not be read
    names: tuple[str, ...]  # subject alternative names (or the common name)
    problem: str | None  # why it could not be read, in words

    def days_left(self, now: datetime) -> int | None:
        """Whole days until it expires (negative once it has), or None when not known."""
        return None if self.not_after is None else (self.not_after - now).days


def live_certificates(folder: str) -> tuple[list[str], str | None]:
    """The certificate file of every subfolder of `folder` (certbot's and acme.sh's
    /etc/letsencrypt/live/NAME/), and why the folder itself cannot be listed, if it cannot."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except FileNotFoundError:
        return [], None  # no certificates on this host: nothing to watch
    except OSError as error:
        return [], f"cannot list {folder}: {error.strerror}"
    found = []
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue  # certbot's README
        for name in CANDIDATES:
            path = os.path.join(entry.path, name)
            if os.path.lexists(path):
                found.append(path)
                break
        else:
            found.append(os.path.join(entry.path, CANDIDATES[0]))  # reported as missing
    return found, None


def read_certificate(path: str) -> Certificate:
    """When the file's first certificate expires, or why it cannot be told."""
    try:
        with open(path, "rb") as handle:  # certbot's live/ entries are links into archive/: followed
            size = len(handle.read(MAX_BYTES + 1))
    except FileNotFoundError:
        return Certificate(path, None, (), "the file does not exist")
    except OSError as error:
        return Certificate(path, None, (), f"cannot be read: {error.strerror}")
    if size > MAX_BYTES:
        return Certificate(path, None, (), f"is larger than {MAX_BYTES // 1024} KiB: not a certificate chain")
    decode = getattr(getattr(ssl, "_ssl", None), "_test_decode_cert", None)
    try:
        return _by_openssl(path, decode) if decode is not None else _by_cryptography(path)
    except (ssl.SSLError, ValueError, KeyError):
        return Certificate(path, None, (), "does not hold a PEM certificate")
    except OSError as error:
        return Certificate(path, None, (), f"cannot be read: {error.strerror}")


def _by_openssl(path: str, decode: object) -> Certificate:
    decoded = decode(path)  # type: ignore[operator]
    not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(decoded["notAfter"]), UTC)
    names = [value for kind, value in decoded.get("subjectAltName", ()) if kind == "DNS"]
    if not names:
        names = [value for rdn in decoded.get("subject", ()) for key, value in rdn if key == "commonName"]
    return Certificate(path, not_after, tuple(names), None)


def _by_cryptography(path: str) -> Certificate:
    from cryptography import x509
    from cryptography.x509.oid import ExtensionOID, NameOID

    with open(path, "rb") as handle:
        certificate = x509.load_pem_x509_certificate(handle.read(MAX_BYTES))
    try:
        extension = certificate.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        names = extension.value.get_values_for_type(x509.DNSName)  # type: ignore[attr-defined]
    except x509.ExtensionNotFound:
        names = []
    if not names:
        names = [str(attribute.value) for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return Certificate(path, certificate.not_valid_after_utc, tuple(str(name) for name in names), None)
