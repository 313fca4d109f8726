"""This host's own IP addresses (psutil), for the addresses bin/run prints."""

from __future__ import annotations

import ipaddress
import socket

import psutil

EVERY_IPV4, EVERY_IPV6 = ipaddress.ip_address("0.0.0.0"), ipaddress.ip_address("::")  # noqa: S104


def addresses(bind: str) -> list[str]:
    """The addresses a server listening on `bind` answers at.

    0.0.0.0 is every IPv4 address of the host; :: every IPv6 one and, on Linux's
    default dual stack, every IPv4 one too; any other address is only itself.
    Loopback first, then IPv4, then IPv6. Link-local IPv6 addresses are left out: a
    browser needs an interface name with them, and they do not leave the link.
    """
    listening = ipaddress.ip_address(bind)
    if listening not in (EVERY_IPV4, EVERY_IPV6):
        return [str(listening)]
    families = {socket.AF_INET} if listening == EVERY_IPV4 else {socket.AF_INET, socket.AF_INET6}
    found: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for entries in psutil.net_if_addrs().values():
        for entry in entries:
            if entry.family not in families:
                continue
            address = ipaddress.ip_address(entry.address.split("%", 1)[0])
            if not address.is_link_local:
                found.add(address)
    ordered = sorted(found, key=lambda address: (not address.is_loopback, address.version, address))
    return [str(address) for address in ordered]


def is_loopback(bind: str) -> bool:
    return ipaddress.ip_address(bind).is_loopback
