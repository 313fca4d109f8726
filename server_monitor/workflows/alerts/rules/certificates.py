"""TLS certificates that expire in less than WPDASH_ALERT_CERT_DAYS, have expired, or cannot be read."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from django.conf import settings

from server_monitor.adapters import certificates
from server_monitor.workflows.alerts.facts import Facts
from server_monitor.workflows.alerts.rules.base import CRITICAL, WARNING, Finding, Rule, register
from server_monitor.workflows.sites import discovery as site_discovery


def certificate_files() -> tuple[list[str], list[str]]:
    """Every certificate file to watch, and the problems met while listing them: each
    folder of WPDASH_CERT_DIR (/etc/letsencrypt/live/*/, where WordOps's acme.sh and
    certbot write), then every certificate an enabled nginx site names with
    `ssl_certificate` (the sites' discovery), each file once."""
    files, problem = certificates.live_certificates(settings.WPDASH_CERT_DIR)
    named = [site.certificate for site in site_discovery.discover().sites if site.certificate]
    return list(dict.fromkeys([*files, *named])), [problem] if problem else []


@register
class CertificateExpiry(Rule):
    """One subject per certificate file (its path): expiring soon (warning), expired or
    unreadable (critical: a web server restart with it fails, or serves an error)."""

    name = "certificate"  # every tick: a few small files, parsed in well under a millisecond each

    def evaluate(self, facts: Facts, firing: Collection[str]) -> list[Finding] | None:
        files, problems = certificate_files()
        found = [
            Finding(
                settings.WPDASH_CERT_DIR, WARNING, f"certificates cannot be checked: {problem}", {"problem": problem}
            )
            for problem in problems
        ]
        limit = settings.WPDASH_ALERT_CERT_DAYS
        now = datetime.now(UTC)
        for path in files:
            certificate = certificates.read_certificate(path)
            if certificate.not_after is None:
                problem: dict[str, object] = {"path": path, "problem": certificate.problem}
                found.append(
                    Finding(path, CRITICAL, f"certificate {path} is unreadable: {certificate.problem}", problem)
                )
                continue
            days = (certificate.not_after - now).total_seconds() / 86400
            if days >= limit:
                continue
            names = ", ".join(certificate.names[:5]) or "no name"
            expires = certificate.not_after.strftime("%Y-%m-%d %H:%M UTC")
            evidence: dict[str, object] = {
                "path": path,
                "names": list(certificate.names),
                "not_after": expires,
                "days_left": round(days, 2),
            }
            if days <= 0:
                summary = f"certificate for {names} has expired ({expires}): {path}"
                found.append(Finding(path, CRITICAL, summary, evidence))
            else:
                summary = f"certificate for {names} expires in {days:.1f} days ({expires}): {path}"
                found.append(Finding(path, WARNING, summary, evidence))
        return found
