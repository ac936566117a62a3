"""Slack listeners, one module per kind (actions, views, commands), each with `register`."""
