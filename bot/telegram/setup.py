"""Build the PTB Bot for a configured base URL, and register the commands menu."""

from __future__ import annotations

from telegram import Bot, BotCommand
from telegram.request import HTTPXRequest

from bot.rendering import Renderer
from flows import languages
from flows.machine import COMMANDS


def make_bot(token: str, api_base_url: str, *, pool: int = 64) -> Bot:
    """Return a Bot talking to `api_base_url` (Telegram, a self-hosted Bot API, a fake)."""
    base = api_base_url.rstrip("/")
    return Bot(
        token,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=HTTPXRequest(connection_pool_size=pool, read_timeout=15, write_timeout=15),
        get_updates_request=HTTPXRequest(connection_pool_size=2, read_timeout=40),
    )


def command_menu(language: str) -> list[BotCommand]:
    """Return the commands menu in one language."""
    renderer = Renderer(language)
    return [BotCommand(name, renderer.text(f"telegram.command.{name}")) for name in COMMANDS]


async def register_commands(bot: Bot) -> None:
    """Set the commands menu for every offered language Telegram can name (a two-letter
    ISO 639-1 code: not `ja_easy`, whose readers see the default menu), and the default one."""
    await bot.set_my_commands(command_menu(languages.default_code()))
    for code in languages.codes():
        if len(code) == 2 and code.isalpha():
            await bot.set_my_commands(command_menu(code), language_code=code)
