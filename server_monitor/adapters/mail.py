"""E-mail through Django's mail backend: the server given by EMAIL_URL (the box's postfix
by default), a timeout on every connection (EMAIL_TIMEOUT), one message to all recipients.

A failure comes back as MailFailed with the reason in words and never the password.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from server_monitor.errors import Unavailable


class MailFailed(Unavailable):
    """The mail server did not accept the message."""


def send(subject: str, body: str, recipients: list[str], accepted: Callable[[], None] = lambda: None) -> None:
    """Hand one message to the mail server, else MailFailed. `accepted` is called as soon as
    the server has taken it, before the connection is closed: the caller records it then,
    so a process killed meanwhile leaves as little as can be sent but not recorded."""
    message = EmailMessage(subject=subject, body=body, to=recipients)
    try:
        connection = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
        connection.open()
        try:
            sent = connection.send_messages([message])
            if sent:
                accepted()
        finally:
            connection.close()  # Django's backend swallows a failed QUIT
    except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as error:
        raise MailFailed(_without_password(_reason(error))) from None
    if not sent:
        raise MailFailed("the mail server accepted nothing")


def _reason(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return f"{error.smtp_code} {text}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "recipients refused: " + ", ".join(sorted(error.recipients))
    if isinstance(error, TimeoutError | socket.timeout):
        return f"no answer from {settings.EMAIL_HOST}:{settings.EMAIL_PORT} within {settings.EMAIL_TIMEOUT} s"
    if isinstance(error, OSError) and error.strerror:
        return f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}: {error.strerror}"
    return f"{type(error).__name__}: {error}"


def _without_password(text: str) -> str:
    password = settings.EMAIL_HOST_PASSWORD
    return text.replace(password, "****") if password else text
