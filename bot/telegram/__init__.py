"""The Telegram channel on python-telegram-bot v22, used as a transport only.

Inbound: updates (webhook or long polling) → events; outbound: outbox rows → Bot API
calls within Telegram's limits. State lives in the database, never in PTB.
"""

import os

# Opt in to PTB's future behaviour (RetryAfter.retry_after as a timedelta); the sender reads
# both forms.
os.environ.setdefault("PTB_TIMEDELTA", "1")

CHANNEL = "telegram"
