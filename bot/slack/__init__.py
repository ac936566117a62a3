"""Counselors in Slack (slack-bolt, async): notifications, actions on bookings, `/madoguchi`.

Requests are verified with the signing secret by bolt's middleware at the edge; every
listener acks first and works after. Nothing here decides a business rule: actions go
through `Intake.office_action`, the schedule and calendar through `bot.operations`.
"""
