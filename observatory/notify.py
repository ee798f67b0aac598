"""Telling the admins: email over SMTP (retried), and Sentry when a DSN is set."""

from __future__ import annotations

import logging
import smtplib
import time
from email.message import EmailMessage

from observatory.errors import ObservatoryError
from observatory.settings import Settings

log = logging.getLogger(__name__)


class NotificationFailed(ObservatoryError):
    """The admins could not be emailed after every attempt."""


def email_admins(settings: Settings, subject: str, body: str) -> None:
    """Send one email to every admin address; no-op when none are configured.

    The subject is sent on one line: its line breaks (an error message of several lines)
    become spaces, since a header may not hold them. Transient SMTP and socket errors are
    retried ``settings.smtp.attempts`` times with a short backoff. Raises
    NotificationFailed (chaining the last error) when every attempt failed.
    """
    if not settings.admin_emails:
        return
    message = EmailMessage()
    message["From"] = settings.smtp.sender
    message["To"] = ", ".join(settings.admin_emails)
    message["Subject"] = " ".join(f"[{settings.site_name}] {subject}".split())
    message.set_content(body)

    last_error: Exception | None = None
    for attempt in range(1, settings.smtp.attempts + 1):
        try:
            _send(settings, message)
            return
        except (OSError, smtplib.SMTPException) as error:
            last_error = error
            log.warning("email to admins failed (attempt %d): %s", attempt, error)
            if attempt < settings.smtp.attempts:
                # No wait after the last attempt: the failing step is held up long enough.
                time.sleep(min(0.5 * 2 ** (attempt - 1), 5.0))
    raise NotificationFailed(f"could not email the admins: {last_error}") from last_error


def _send(settings: Settings, message: EmailMessage) -> None:
    smtp = settings.smtp
    with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s) as client:
        if smtp.starttls:
            client.starttls()
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
        client.send_message(message)


def init_sentry(settings: Settings) -> bool:
    """Start Sentry reporting when a DSN is set; returns whether it is on."""
    if not settings.sentry_dsn:
        return False
    import sentry_sdk

    sentry_sdk.init(dsn=settings.sentry_dsn, send_default_pii=False)
    return True


def report_to_sentry(error: BaseException) -> None:
    """Report an exception to Sentry; does nothing unless :func:`init_sentry` ran."""
    import sentry_sdk

    sentry_sdk.capture_exception(error)
