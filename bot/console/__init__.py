"""The terminal channel: the intake over stdin/stdout, for trying it out and for scripts."""

from bot.console.chat import run_chat

__all__ = ["run_chat"]
