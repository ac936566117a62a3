"""The fake Messaging API's reply tokens, driven by the real line-bot-sdk client: single-use
and short-lived, refused as LINE refuses them (400 `Invalid reply token`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from linebot.v3.messaging import ApiException, AsyncMessagingApi, ReplyMessageRequest

from bot.line.sender import make_api
from tests.fakes.line_api import FakeLine

USER = "U" + "5d1e" * 8


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeLine]:
    async with FakeLine() as server:
        yield server


@pytest_asyncio.fixture
async def api(fake: FakeLine) -> AsyncIterator[AsyncMessagingApi]:
    client = make_api(fake.access_token, fake.url)
    try:
        yield AsyncMessagingApi(client)
    finally:
        await client.close()


def reply(token: str, text: str) -> ReplyMessageRequest:
    return ReplyMessageRequest.from_dict(
        {"replyToken": token, "messages": [{"type": "text", "text": text}]}
    )


async def refused(api: AsyncMessagingApi, token: str) -> tuple[int | None, dict]:
    with pytest.raises(ApiException) as error:
        await api.reply_message(reply(token, "again"))
    return error.value.status, json.loads(error.value.body)


@pytest.mark.asyncio
async def test_a_reply_token_works_once_then_is_an_invalid_reply_token(fake, api):
    token = fake.issue_reply_token(USER)
    await api.reply_message(reply(token, "once"))
    assert await refused(api, token) == (400, {"message": "Invalid reply token"})
    assert [m["text"] for m in fake.messages(USER)] == ["once"]
    assert [(c.endpoint, c.status) for c in fake.calls] == [("reply", 200), ("reply", 400)]


@pytest.mark.asyncio
async def test_an_expired_or_unknown_reply_token_is_an_invalid_reply_token(fake, api):
    expired = fake.issue_reply_token(USER)
    fake.expire_reply_tokens()
    assert await refused(api, expired) == (400, {"message": "Invalid reply token"})
    assert await refused(api, "not-issued") == (400, {"message": "Invalid reply token"})
    assert fake.messages(USER) == []


@pytest.mark.asyncio
async def test_a_reply_answered_5xx_leaves_its_token_unused_and_a_late_answer_uses_it(fake, api):
    token = fake.issue_reply_token(USER)
    fake.fail_next("reply", status=500)
    with pytest.raises(ApiException) as error:
        await api.reply_message(reply(token, "lost"))
    assert error.value.status == 500
    fake.answer_late("reply", 0.2)  # taken, then answered late: the token is used
    await api.reply_message(reply(token, "taken"))
    assert await refused(api, token) == (400, {"message": "Invalid reply token"})
    assert [m["text"] for m in fake.messages(USER)] == ["taken"]
