"""Messenger channels as a registry: what a channel provides (`protocol`), the checks every
webhook shares (`edge`), the registry itself (`registry`), and the inbox processor.

This package's `__init__` imports nothing: channels import `protocol` and `edge` while the
registry imports the channels.
"""
