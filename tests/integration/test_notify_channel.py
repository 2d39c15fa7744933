"""One delivery attempt through Apprise to real receivers: what arrives, and what the provider
said when it did not."""

from __future__ import annotations

import pytest

from tests.notify_receivers import WebhookReceiver
from triage.notify.channel import UnusableUrlError, check_url, deliver, masked_url
from triage.notify.smtp_sink import SmtpSink


def test_a_message_reaches_the_smtp_server_with_its_title_and_text(smtp_sink: SmtpSink) -> None:
    done = deliver(smtp_sink.url("legevakt@fjordvik.invalid"), "DHO", "DHO: 1 rød varsling venter")
    assert done.ok, done.answer
    [mail] = smtp_sink.wait_for(1)
    assert mail.rcpt_tos == ("legevakt@fjordvik.invalid",)
    assert mail.subject == "DHO"
    assert mail.text.strip() == "DHO: 1 rød varsling venter"


def test_a_refusing_smtp_server_fails_the_attempt_with_its_reply_code(smtp_sink: SmtpSink) -> None:
    smtp_sink.refuse = True
    done = deliver(smtp_sink.url("legevakt@fjordvik.invalid"), "DHO", "tekst")
    assert not done.ok
    assert "451" in done.answer
    assert smtp_sink.messages == []


def test_a_webhook_gets_the_json_and_a_failing_one_gives_its_status(
    webhook: WebhookReceiver,
) -> None:
    assert deliver(webhook.url("/sms"), "DHO", "hei").ok
    assert webhook.posts[0]["path"] == "/sms"
    assert webhook.posts[0]["body"]["message"] == "hei"
    webhook.fail_with = 503
    done = deliver(webhook.url("/sms"), "DHO", "hei")
    assert not done.ok
    assert "503" in done.answer


def test_an_unreachable_receiver_is_a_failed_attempt_not_an_exception() -> None:
    receiver = WebhookReceiver().start()
    url = receiver.url()
    receiver.stop()
    done = deliver(url, "DHO", "hei")
    assert not done.ok
    assert "connection" in done.answer.lower()


def test_credentials_never_show_and_unknown_schemes_are_refused() -> None:
    shown = masked_url("mailtos://dho:hemmelig@smtp.example.no:587?to=vakt@example.no")
    assert shown == "mailtos://smtp.example.no:587"
    # many Apprise URLs put a token where the host goes: it is not shown either
    assert masked_url("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PA/12315544") == "tgram://…"
    assert masked_url("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ") == "slack://…"
    assert masked_url("ntfy://hemmelig-emne") == "ntfy://…"
    assert masked_url("json://[::1]:8080/sms") == "json://::1:8080"
    assert masked_url("json://[::1/sms") == "(unreadable URL)"
    assert masked_url("json://localhost:9/sms") == "json://localhost:9"
    assert check_url("json://127.0.0.1:9/sms") == "json"
    with pytest.raises(UnusableUrlError):
        check_url("nosuchscheme://x")
