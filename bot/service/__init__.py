"""The conversation service: load → `flows` step → apply effects → save + outbox.

It opens one transaction per inbound event, office action or job, and decides nothing the
flow decides; storage answers and records, channels translate.
"""
