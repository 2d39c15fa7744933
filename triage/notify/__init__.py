"""Delivery of notifications to people outside DHO: escalation messages and GP digests.

:mod:`triage.notify.channel` sends one message through Apprise (one URL per receiver) and
returns the provider's answer; :mod:`triage.notify.smtp_sink` is a local SMTP server for the
demo and the tests (aiosmtpd). The outbox and the sender job are in :mod:`triage.jobs.notify`.
"""
