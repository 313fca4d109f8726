"""Print where bin/run serves (WPDASH_BIND, WPDASH_PORT), and which of those addresses
DJANGO_ALLOWED_HOSTS lets in.

Listening on 0.0.0.0 prints one URL per address of this host instead of
http://0.0.0.0:8000/, which no browser elsewhere can open, and marks each address
Django would refuse (a 400) with the setting to change.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.http.request import validate_host

from server_monitor.adapters import network

STOP = "(Ctrl-C stops it)"


class Command(BaseCommand):
    help = "Print the URLs bin/run serves at and whether DJANGO_ALLOWED_HOSTS allows each."

    def handle(self, *args: Any, **options: Any) -> None:
        port = settings.WPDASH_PORT
        rows: list[tuple[str, str]] = []
        for address in network.addresses(settings.WPDASH_BIND):
            host = f"[{address}]" if ":" in address else address
            allowed = validate_host(host, settings.ALLOWED_HOSTS)
            refused = "" if allowed else f"refused: add {host} to DJANGO_ALLOWED_HOSTS"
            rows.append((f"http://{host}:{port}/", refused))
        if len(rows) == 1 and not rows[0][1]:
            self.stdout.write(f"wpdash is running at {rows[0][0]}  {STOP}")
            return
        self.stdout.write(f"wpdash is running {STOP}. Open it at:")
        width = max(len(url) for url, _ in rows)
        for url, refused in rows:
            self.stdout.write(f"  {url:<{width}}  {refused}".rstrip())
        self.stdout.write(
            f"Host names allowed (DJANGO_ALLOWED_HOSTS): {', '.join(settings.ALLOWED_HOSTS)}; "
            "any other gets a page naming that setting."
        )
        if not network.is_loopback(settings.WPDASH_BIND):
            self.stdout.write(
                "This is plain HTTP on the network: use it only on one you trust. From a laptop, an SSH tunnel "
                'to a loopback install is safer (README.md, "Reaching it").'
            )
