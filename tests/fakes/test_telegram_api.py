"""The fake Bot API server, driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)

from tests.fakes.telegram_api import FakeTelegram, callback_update, message_update

# PTB 22 warns in RetryAfter's own constructor unless PTB_TIMEDELTA=1 is set.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)

CHAT = 7001
OTHER_CHAT = 7002


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(max_poll_seconds=0.3) as server:
        yield server


def bot_for(fake: FakeTelegram, token: str | None = None) -> Bot:
    return Bot(token or fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"label {d}", callback_data=d)] for d in data]
    )


def seconds(error: RetryAfter) -> float:
    """retry_after in seconds, whether PTB gives an int (deprecated) or a timedelta."""
    retry_after = error.retry_after
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after


@pytest.mark.asyncio
async def test_get_me_and_tokens(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:  # initialize() calls getMe
        me = await bot.get_me()
        assert me.is_bot and me.username == "madoguchi_test_bot" and me.can_join_groups
        assert me.id == 123456
    with pytest.raises(InvalidToken):
        async with bot_for(fake, "123456:WRONG"):
            pass
    assert len(fake.calls_to("getMe")) == 2
    assert fake.calls[-1].status == 401


@pytest.mark.asyncio
async def test_send_message_returns_message_with_its_keyboard(fake: FakeTelegram) -> None:
    markup = keyboard("lang:ja", "lang:en")

    async with bot_for(fake) as bot:
        sent = await bot.send_message(CHAT, "言語を選んでください", reply_markup=markup)
    assert isinstance(sent, Message)
    assert sent.message_id == 1 and sent.chat.id == CHAT and sent.text == "言語を選んでください"
    assert sent.reply_markup == markup
    assert sent.from_user is not None and sent.from_user.username == "madoguchi_test_bot"
    (shown,) = fake.messages(CHAT)
    assert shown["reply_markup"] == markup.to_dict()
    assert shown["chat"] == {"id": CHAT, "type": "private", "first_name": "Test"}
    (call,) = fake.calls_to("sendMessage")
    assert call.params["chat_id"] == CHAT and call.params["reply_markup"] == markup.to_dict()


@pytest.mark.asyncio
async def test_string_values_are_not_json_decoded(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        sent = await bot.send_message(CHAT, "123")
    assert sent.text == "123"
    assert fake.calls_to("sendMessage")[0].params["text"] == "123"


@pytest.mark.asyncio
async def test_edits_change_what_the_user_sees() -> None:
    async with FakeTelegram(per_chat_per_second=100) as fake:
        async with bot_for(fake) as bot:
            sent = await bot.send_message(CHAT, "question", reply_markup=keyboard("a"))
            edited = await bot.edit_message_text(
                "answered",
                chat_id=CHAT,
                message_id=sent.message_id,
                reply_markup=keyboard("b"),
            )
            assert isinstance(edited, Message) and edited.edit_date is not None
            assert fake.messages(CHAT)[0]["text"] == "answered"
            assert fake.messages(CHAT)[0]["reply_markup"] == keyboard("b").to_dict()
            with pytest.raises(BadRequest, match="not modified"):
                await bot.edit_message_text(
                    "answered", CHAT, sent.message_id, reply_markup=keyboard("b")
                )
            with pytest.raises(BadRequest, match="not found"):
                await bot.edit_message_text("x", chat_id=CHAT, message_id=999)
            # Like Telegram, an edit without reply_markup drops the inline keyboard.
            await bot.edit_message_text("final", chat_id=CHAT, message_id=sent.message_id)
            await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=keyboard("c"))
            await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=None)
        (shown,) = fake.messages(CHAT)
        assert shown["text"] == "final" and "reply_markup" not in shown
        assert len(fake.calls_to("editMessageReplyMarkup")) == 2


@pytest.mark.asyncio
async def test_a_chat_takes_a_short_burst_then_one_a_second(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        for n in range(3):  # a quiet chat's bucket holds three
            await bot.send_message(CHAT, f"burst {n}")
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(CHAT, "one too many")
        assert seconds(refused.value) == 1
        await bot.send_message(OTHER_CHAT, "elsewhere")
        # The refused send does not count: one second after the burst, one more fits.
        await asyncio.sleep(fake.calls_to("sendMessage")[2].at + 1.02 - time.monotonic())
        await bot.send_message(CHAT, "later")
        with pytest.raises(RetryAfter):
            await bot.send_message(CHAT, "too soon again")
    assert fake.count_429 == 2
    assert [m["text"] for m in fake.messages(CHAT)] == ["burst 0", "burst 1", "burst 2", "later"]


@pytest.mark.asyncio
async def test_a_burst_of_one_is_one_send_a_second() -> None:
    async with FakeTelegram(per_chat_burst=1) as fake:
        async with bot_for(fake) as bot:
            await bot.send_message(CHAT, "one")
            with pytest.raises(RetryAfter) as refused:
                await bot.send_message(CHAT, "two")
            assert seconds(refused.value) == 1
            await bot.send_message(OTHER_CHAT, "elsewhere")
        assert [c.status for c in fake.calls if c.method == "sendMessage"] == [200, 429, 200]


@pytest.mark.asyncio
async def test_global_limit() -> None:
    async with FakeTelegram(global_per_second=3) as fake:
        async with bot_for(fake) as bot:
            for chat in range(3):
                await bot.send_message(chat + 1, "hi")
            with pytest.raises(RetryAfter):
                await bot.send_message(99, "hi")
        assert fake.count_429 == 1 and fake.messages(99) == []


@pytest.mark.asyncio
async def test_fail_next(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        fake.fail_next("sendMessage", status=502)
        with pytest.raises(NetworkError) as failed:
            await bot.send_message(CHAT, "hi")
        # PTB raises NetworkError itself for 5xx (TimedOut is another subclass).
        assert type(failed.value) is NetworkError and "Bad Gateway" in str(failed.value)
        fake.fail_next("sendMessage", retry_after=7)
        with pytest.raises(RetryAfter) as limited:
            await bot.send_message(CHAT, "hi")
        assert seconds(limited.value) == 7
        fake.fail_next("sendmessage", status=403, count=2)
        for _ in range(2):
            with pytest.raises(Forbidden, match="blocked"):
                await bot.send_message(CHAT, "hi")
        await bot.send_message(CHAT, "hi")
    assert fake.count_429 == 1
    assert [c.status for c in fake.calls if c.method == "sendMessage"] == [502, 429, 403, 403, 200]
    assert len(fake.messages(CHAT)) == 1


@pytest.mark.asyncio
async def test_get_updates_offset_confirms_and_drops(fake: FakeTelegram) -> None:
    ids = [fake.push_update(message_update(CHAT, text)) for text in ("/start", "hello", "2")]
    assert ids == [1, 2, 3]

    async with bot_for(fake) as bot:
        first = await bot.get_updates()
        assert [u.update_id for u in first] == [1, 2, 3]
        start = first[0].message
        assert start is not None and start.text == "/start" and start.chat.id == CHAT
        assert start.from_user is not None and start.from_user.language_code == "ja"
        assert start.entities[0].type == "bot_command" and start.entities[0].length == 6
        assert [u.update_id for u in await bot.get_updates(offset=3)] == [3]
        assert [u.update_id for u in await bot.get_updates()] == [3]
        assert [u.update_id for u in await bot.get_updates(offset=4)] == []
    assert fake.pending_updates == []


@pytest.mark.asyncio
async def test_long_poll_waits_for_an_update(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        began = time.monotonic()
        assert await bot.get_updates(timeout=30) == ()  # capped by max_poll_seconds
        assert 0.25 < time.monotonic() - began < 1.5
        asyncio.get_running_loop().call_later(0.05, fake.push_update, message_update(CHAT, "late"))
        began = time.monotonic()
        (update,) = await bot.get_updates(timeout=30)
        assert update.message is not None and update.message.text == "late"
        assert time.monotonic() - began < 0.25


@pytest.mark.asyncio
async def test_send_document_records_the_bytes(fake: FakeTelegram) -> None:
    content = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n" + bytes(range(256))

    async with bot_for(fake) as bot:
        sent = await bot.send_document(
            CHAT, InputFile(content, filename="予約 1.ics"), caption="ご予約"
        )
        assert sent.document is not None
        downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
        sent, downloaded = sent, bytes(downloaded)
    (call,) = fake.calls_to("sendDocument")
    assert call.params["document_bytes"] == content == downloaded
    assert call.params["document_filename"] == "予約 1.ics"
    assert call.params["document_mime_type"] == "text/calendar"
    assert call.params["chat_id"] == CHAT and call.params["caption"] == "ご予約"
    assert sent.document is not None and sent.document.file_name == "予約 1.ics"
    assert sent.document.file_size == len(content) and sent.caption == "ご予約"
    assert fake.messages(CHAT)[0]["document"]["file_id"] == sent.document.file_id


@pytest.mark.asyncio
async def test_invalid_messages_are_refused(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
            await bot.send_message(CHAT, "hi", reply_markup=keyboard("x" * 65))
        with pytest.raises(BadRequest, match="(?i)button_data_invalid"):  # 66 bytes UTF-8
            await bot.send_message(CHAT, "hi", reply_markup=keyboard("あ" * 22))
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await bot.send_message(CHAT, "x" * 4097)
        with pytest.raises(BadRequest, match="(?i)message text is empty"):
            await bot.send_message(CHAT, " ")
        await bot.send_message(CHAT, "y" * 4096, reply_markup=keyboard("x" * 64))
    assert [c.status for c in fake.calls if c.method == "sendMessage"] == [400] * 4 + [200]
    assert len(fake.messages(CHAT)) == 1 and fake.count_429 == 0


@pytest.mark.asyncio
async def test_set_my_commands_per_language(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
        await bot.set_my_commands([BotCommand("start", "はじめる")], language_code="ja")
        assert await bot.get_my_commands(language_code="ja") == (BotCommand("start", "はじめる"),)
        assert await bot.get_my_commands(language_code="en") == ()
        with pytest.raises(BadRequest):
            await bot.set_my_commands([BotCommand("Start", "x")])
    assert fake.commands == {
        "": [
            {"command": "start", "description": "Start"},
            {"command": "help", "description": "Help"},
        ],
        "ja": [{"command": "start", "description": "はじめる"}],
    }


@pytest.mark.asyncio
async def test_callback_update_round_trip(fake: FakeTelegram) -> None:
    markup = keyboard("lang:ja", "lang:en")

    async with bot_for(fake) as bot:
        await bot.send_message(CHAT, "言語", reply_markup=markup)
        (message,) = fake.messages(CHAT)
        first = fake.push_update(callback_update(CHAT, "lang:en", message=message))
        fake.push_update(callback_update(CHAT, "lang:en", message=message))
        updates = await bot.get_updates(offset=first)
        queries = [u.callback_query for u in updates]
        assert all(q is not None for q in queries)
        assert len({q.id for q in queries if q}) == 2
        query = queries[0]
        assert query is not None and query.data == "lang:en"
        assert isinstance(query.message, Message) and query.message.reply_markup == markup
        assert await bot.answer_callback_query(query.id) is True
        with pytest.raises(ValueError):
            callback_update(CHAT, "lang:fr", message=message)


@pytest.mark.asyncio
async def test_webhook(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        await bot.set_webhook(
            "https://bot.example/telegram",
            secret_token="s3cret_-",
            max_connections=10,
            allowed_updates=["message", "callback_query"],
        )
        assert fake.webhook == {
            "url": "https://bot.example/telegram",
            "secret_token": "s3cret_-",
            "max_connections": 10,
            "allowed_updates": ["message", "callback_query"],
        }
        info = await bot.get_webhook_info()
        assert info.url == "https://bot.example/telegram" and info.max_connections == 10
        with pytest.raises(Conflict):
            await bot.get_updates()
        with pytest.raises(BadRequest, match="(?i)https url"):
            await bot.set_webhook("http://bot.example/telegram")
        assert await bot.delete_webhook() is True
        assert (await bot.get_webhook_info()).url == ""
    assert fake.webhook is None


@pytest.mark.asyncio
async def test_other_methods(fake: FakeTelegram) -> None:
    async with bot_for(fake) as bot:
        assert await bot.send_chat_action(CHAT, "typing") is True
        sent = await bot.send_message(CHAT, "bye")
        assert await bot.delete_message(CHAT, sent.message_id) is True
        with pytest.raises(BadRequest, match="not found"):
            await bot.delete_message(CHAT, sent.message_id)
    assert fake.messages(CHAT) == []


@pytest.mark.asyncio
async def test_raw_http_requests(fake: FakeTelegram) -> None:
    base = f"{fake.base_url}{fake.token}"
    async with httpx.AsyncClient() as client:
        sent = await client.post(
            f"{base}/sendMessage", json={"chat_id": CHAT, "text": "json body"}
        )
        assert sent.status_code == 200 and sent.json()["result"]["text"] == "json body"
        assert (await client.get(f"{base}/GETME")).json()["result"][
            "username"
        ] == "madoguchi_test_bot"
        unknown = await client.post(f"{base}/sendTelepathy")
        assert unknown.status_code == 404
        assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        wrong = await client.post(f"{fake.base_url}1:nope/getMe")
        assert wrong.status_code == 401
        assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        for _ in range(2):  # the rest of the chat's burst
            await client.post(f"{base}/sendMessage", data={"chat_id": str(CHAT), "text": "x"})
        limited = await client.post(
            f"{base}/sendMessage", data={"chat_id": str(CHAT), "text": "x"}
        )
        assert limited.status_code == 429
        assert limited.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        }
    assert [c.method for c in fake.calls] == [
        "sendMessage",
        "getMe",
        "sendTelepathy",
        "getMe",
        "sendMessage",
        "sendMessage",
        "sendMessage",
    ]
    assert [c.status for c in fake.calls] == [200, 200, 404, 401, 200, 200, 429]
