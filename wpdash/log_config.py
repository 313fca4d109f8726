"""The formatter and filters of settings.LOGGING."""

from __future__ import annotations

import logging
from http import HTTPStatus

CONTINUATION = "  | "


class OneRecordPerLine(logging.Formatter):
    """Every line after a record's first starts with "  | ".

    systemd stores each line of our output as a journal entry of its own, and
    fail2ban reads those entries (deploy/fail2ban/). Were a message or an exception to
    carry a client's line break, the text after it would begin an entry that looks
    like one of ours, a forged "failed sign-in from <someone else>". With the marker,
    only a record's first line begins with the time and level the filter anchors on;
    tracebacks stay readable. A carriage return, which a terminal shows as a new line,
    is written as \\r.
    """

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).replace("\r", "\\r")
        return text.replace("\n", "\n" + CONTINUATION)


class UnavailableIsAWarning(logging.Filter):
    """django.request logs every 5xx answer at ERROR. A 503 is wpdash's answer when an
    outside system cannot answer now (systemd, Netdata, the journal, the database):
    expected and retried, so it is logged at WARNING, and ERROR stays for what is a
    bug (a 500). The line itself is unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and getattr(record, "status_code", None) == HTTPStatus.SERVICE_UNAVAILABLE:
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True
