"""E-mail of report digests: the message (HTML with the chart as an inline image, a plain-text part) and sending
it over SMTP with the standard library (STARTTLS or TLS, optional login)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, cast

from api.services.reports import CHART_CID, chart_png, digest_title, render_html, strings
from api.settings import ServiceSettings


def digest_text(digest: dict[str, Any], locale: str = "en") -> str:
    """The plain-text part: the figures in a few lines, for clients that show no HTML."""
    words = strings(locale)

    def signed(value: float | None) -> str:
        return "-" if value is None else f"{value:+.1f}"

    n, c = digest["nps"], digest["change"]
    change = (words["too_few"].format(now=c["current"]["n"], before=c["previous"]["n"], min_n=c["min_n"]) if c["too_few"] else
              words["text_change"].format(delta=signed(c["delta"]), significance=words["significant_word" if c["significant"]
                                                                                     else "not_significant_word"]))
    lines = [digest_title(digest, locale), "", words["text_nps"].format(nps=signed(n["nps"]), n=n["n"], change=change), ""]
    if digest["action_points"]:
        lines.append(words["text_points"])
        lines += [words["text_point"].format(label=p["label"], count=p["count"], impact=signed(p["impact"]))
                  for p in digest["action_points"]]
    lines.append(words["text_tail"].format(praise=digest["praise_count"], overdue=digest["overdue_count"]))
    return "\n".join(lines) + "\n"


def digest_message(digest: dict[str, Any], sender: str, recipient: str, chart: bytes | None = None,
                   locale: str = "en") -> EmailMessage:
    """A ``multipart/alternative`` message in ``locale``: plain text, and HTML whose chart is a ``multipart/related``
    PNG part referenced as ``cid:`` (mail clients show it without loading anything). ``chart``: the PNG, if drawn
    already."""
    message = EmailMessage()
    message["Subject"] = digest_title(digest, locale)
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(digest_text(digest, locale))
    message.add_alternative(render_html(digest, f"cid:{CHART_CID}", locale), subtype="html")
    html_part = cast(EmailMessage, message.get_payload()[1])  # type: ignore[index]
    html_part.add_related(chart or chart_png(digest, locale), maintype="image", subtype="png", cid=f"<{CHART_CID}>",
                          filename="nps-chart.png", disposition="inline")
    return message


def send_message(settings: ServiceSettings, message: EmailMessage) -> None:
    """Send ``message`` through the configured SMTP server.

    Raises:
        OSError: the server cannot be reached or refuses the message (``smtplib.SMTPException`` is an ``OSError``).
        ValueError: no SMTP server is configured.
    """
    if not settings.smtp_host:
        raise ValueError("no SMTP server: set NPS_SMTP_HOST (and NPS_SMTP_PORT, NPS_SMTP_FROM) to e-mail digests")
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_ssl:
        smtp = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s, context=context)
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s)
    with smtp:
        if settings.smtp_starttls and not settings.smtp_ssl:
            smtp.starttls(context=context)
        if settings.smtp_user is not None and settings.smtp_password is not None:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)


__all__ = ["digest_message", "digest_text", "send_message"]
