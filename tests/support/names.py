"""Hostile names a client may send where a unit or a log name belongs."""

from __future__ import annotations

HOSTILE = [
    "../../etc/passwd",
    "nginx;id",
    "$(id)",
    "`id`",
    "nginx\x00",
    "nginx\n",
    "nginx id",
    "-nginx",
    "--help",
    "nginx.service",  # a valid unit, but not the allowlisted spelling
    "NGINX",
    "n" * 10240,
]
