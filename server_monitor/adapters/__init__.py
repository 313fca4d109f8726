"""Adapters: one module (or package) per outside system, and nothing else talks to it.

systemd (systemd.py), child processes (process.py), log files (logs/), the journal
(journal/), Netdata and local sampling (metrics/), nginx's configuration (nginx/), apt
(apt.py), certificate files (certificates.py), the mail server (mail.py), push services
through Apprise (push/). They raise the plain errors of server_monitor.errors and import
nothing from DRF or Channels. See docs/architecture.md.
"""
