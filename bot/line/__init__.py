"""The LINE channel on line-bot-sdk v3, used as a transport only.

Inbound: verified webhook bodies → the inbox → events; outbound: outbox rows → reply or push
calls within LINE's limits. State lives in the database, never in the SDK or in memory.
"""

CHANNEL = "line"
