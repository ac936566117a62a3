"""Persistence: SQLAlchemy 2 models, repositories and migrations.

Repositories take a session and never commit; the caller owns one transaction per inbound
event or job. Nothing here renders text or talks to a messenger.
"""
