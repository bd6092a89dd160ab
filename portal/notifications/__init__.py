"""Notifications: in-app messages, e-mail through an outbox, preferences, digests, reminders.

Domain code calls `services.notify(...)` in the same transaction as the event; a notification row
(and an outbox row when the person wants e-mail at once) commits with it or not at all. The sender
(`sender.deliver_pending`) runs after the response is sent and from `flask send-mail`, retrying
with back-off; admins see what failed. E-mails carry a link and never an excerpt of a draft, a
photo or a narrative (trauma-informed.md, privacy).
"""

from flask import Blueprint

bp = Blueprint("notifications", __name__)
