"""The Telegram channel on python-telegram-bot v22, used as a transport only.

Inbound: updates (webhook or long polling) → events; outbound: outbox rows → Bot API
calls within Telegram's limits. State lives in the database, never in PTB.
"""

CHANNEL = "telegram"
