"""The fake Slack Web API server, driven by the real slack_sdk AsyncWebClient (and slack-bolt)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import urlencode

import pytest
import pytest_asyncio
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack_api import (
    FakeSlack,
    block_actions_payload,
    slash_command_form,
    view_submission_payload,
)
from tests.waiting import wait_until

CHANNEL = "C0COUNSEL"
OTHER_CHANNEL = "C0OTHER"
SIGNING_SECRET = "test-signing-secret"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(members={CHANNEL: ["U1", "U2", "UBOT"]}) as server:
        yield server


def client_for(fake: FakeSlack, token: str | None = None, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=token or fake.token, base_url=fake.base_url, **kwargs)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def buttons(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": action_id,
                "value": value,
                "text": {"type": "plain_text", "text": action_id},
            }
            for action_id, value in pairs
        ],
    }


def modal(callback_id: str = "intake", private_metadata: str = "") -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": "相談メモ"},
        "submit": {"type": "plain_text", "text": "送信"},
        "blocks": [
            {
                "type": "input",
                "block_id": "note",
                "label": {"type": "plain_text", "text": "メモ"},
                "element": {"type": "plain_text_input", "action_id": "note_input"},
            }
        ],
    }


@pytest.mark.asyncio
async def test_auth_test_and_how_the_client_sends_it(fake: FakeSlack) -> None:
    result = await client_for(fake).auth_test()
    assert result["ok"] is True
    assert (result["user_id"], result["bot_id"], result["team_id"]) == ("UBOT", "BBOT", "T1")
    assert result["url"] == "https://test.slack.com/"
    (call,) = fake.calls_to("auth.test")
    assert call.status == 200 and call.params == {}
    assert call.headers["authorization"] == f"Bearer {fake.token}"


@pytest.mark.asyncio
async def test_wrong_or_missing_token(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as wrong:
        await client_for(fake, "xoxb-wrong").auth_test()
    assert wrong.value.response.status_code == 200
    assert wrong.value.response["error"] == "invalid_auth"

    with pytest.raises(SlackApiError) as missing:
        await AsyncWebClient(base_url=fake.base_url).auth_test()
    assert missing.value.response["error"] == "not_authed"
    assert fake.calls_to("auth.test") == [] and len(fake.calls) == 2


@pytest.mark.asyncio
async def test_post_then_update_changes_what_the_channel_shows(fake: FakeSlack) -> None:
    blocks = [section("新しい相談があります"), buttons(("claim", "case-1"))]

    client = client_for(fake)
    posted = await client.chat_postMessage(channel=CHANNEL, text="新しい相談", blocks=blocks)
    assert posted["channel"] == CHANNEL
    ts = posted["ts"]
    assert posted["message"]["text"] == "新しい相談" and posted["message"]["ts"] == ts
    (shown,) = fake.messages(CHANNEL)
    assert shown["ts"] == ts and shown["channel"] == CHANNEL
    assert [b["type"] for b in shown["blocks"]] == ["section", "actions"]
    assert all(b["block_id"] for b in shown["blocks"])  # assigned, as Slack does

    updated = await client.chat_update(
        channel=CHANNEL, ts=ts, text="対応中: U1", blocks=[section("U1 が対応中")]
    )
    assert updated["ts"] == ts and updated["text"] == "対応中: U1"
    with pytest.raises(SlackApiError) as missing:
        await client.chat_update(channel=CHANNEL, ts="1.000001", text="x")
    assert missing.value.response["error"] == "message_not_found"
    (shown,) = fake.messages(CHANNEL)
    assert shown["text"] == "対応中: U1"
    assert shown["blocks"][0]["text"]["text"] == "U1 が対応中" and len(shown["blocks"]) == 1
    assert fake.messages(OTHER_CHANNEL) == []
    # chat.* go as JSON: the blocks arrive as a list, not a JSON string
    (call,) = fake.calls_to("chat.postMessage")
    assert call.params["blocks"] == blocks
    assert call.headers["content-type"].startswith("application/json")


@pytest.mark.asyncio
async def test_timestamps_are_unique_and_increasing() -> None:
    async with FakeSlack(enforce_limits=False) as fake:
        client = client_for(fake)
        results = await asyncio.gather(
            *(client.chat_postMessage(channel=CHANNEL, text=f"m{i}") for i in range(20))
        )
        stamps = [r["ts"] for r in results]
        assert len(set(stamps)) == 20
        shown = [m["ts"] for m in fake.messages(CHANNEL)]
        assert shown == sorted(shown, key=float) and sorted(shown) == sorted(stamps)


@pytest.mark.asyncio
async def test_second_post_within_a_second_is_rate_limited(fake: FakeSlack) -> None:
    # The default retry handlers retry connection errors only, so the 429 reaches the caller.
    handlers = client_for(fake).retry_handlers
    assert [type(h) for h in handlers] == [AsyncConnectionErrorRetryHandler]

    client = client_for(fake)
    await client.chat_postMessage(channel=CHANNEL, text="one")
    await client.chat_postMessage(channel=OTHER_CHANNEL, text="other channel is fine")
    with pytest.raises(SlackApiError) as limited:
        await client.chat_postMessage(channel=CHANNEL, text="two")
    error = limited.value
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "1"
    assert error.response["error"] == "ratelimited"
    assert fake.count_429 == 1
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["one"]  # a 429 posts nothing
    assert [c.status for c in fake.calls] == [200, 200, 429]


@pytest.mark.asyncio
async def test_limit_window_slides() -> None:
    async with FakeSlack(per_channel_per_second=5) as fake:
        client = client_for(fake)
        for i in range(5):
            await client.chat_postMessage(channel=CHANNEL, text=f"m{i}")
        with pytest.raises(SlackApiError):
            await client.chat_postMessage(channel=CHANNEL, text="too many")
        await asyncio.sleep(1.05)
        await client.chat_postMessage(channel=CHANNEL, text="later")
        assert len(fake.messages(CHANNEL)) == 6 and fake.count_429 == 1


@pytest.mark.asyncio
async def test_rate_limit_retry_handler_retries_the_429(fake: FakeSlack) -> None:
    # Opt-in handler: sleeps Retry-After + random() (< 1 s) seconds, retries once by default.
    fake.fail_next("chat.postMessage", retry_after=0)

    client = client_for(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler()])
    ts = (await client.chat_postMessage(channel=CHANNEL, text="after retry"))["ts"]
    assert [c.status for c in fake.calls] == [429, 200]
    assert fake.calls[0].params == fake.calls[1].params  # the same request again
    assert fake.messages(CHANNEL)[0]["ts"] == ts and fake.count_429 == 1


@pytest.mark.asyncio
async def test_fail_next_errors(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", error="channel_not_found")
    fake.fail_next("users.info", status=503, count=2)

    client = client_for(fake)
    with pytest.raises(SlackApiError) as not_found:
        await client.chat_postMessage(channel=CHANNEL, text="x")
    assert not_found.value.response.status_code == 200
    assert not_found.value.response["error"] == "channel_not_found"
    for _ in range(2):
        with pytest.raises(SlackApiError) as unavailable:
            await client.users_info(user="U1")
        assert unavailable.value.response.status_code == 503
    user = await client.users_info(user="U1")
    assert user["user"]["id"] == "U1" and user["user"]["name"]
    await client.chat_postMessage(channel=CHANNEL, text="now it works")
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["now it works"]
    assert fake.count_429 == 0
    assert len(fake.calls_to("chat.postMessage")) == 1


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
@pytest.mark.asyncio
async def test_block_validation(fake: FakeSlack) -> None:
    async def post(blocks: list[dict[str, Any]], channel: str) -> None:
        await client_for(fake).chat_postMessage(channel=channel, text="t", blocks=blocks)

    with pytest.raises(SlackApiError) as too_many:
        await post([section(f"b{i}") for i in range(51)], "C1")
    assert too_many.value.response["error"] == "invalid_blocks"
    assert "51" in too_many.value.response["errors"][0]
    with pytest.raises(SlackApiError) as too_long:
        await post([section("x" * 3001)], "C2")
    assert too_long.value.response["error"] == "invalid_blocks"
    await post([section(f"b{i}") for i in range(50)], "C3")
    await post([section("x" * 3000)], "C4")
    with pytest.raises(SlackApiError) as nothing:
        await client_for(fake).chat_postMessage(channel="C5")
    assert nothing.value.response["error"] == "no_text"
    assert fake.messages("C1") == fake.messages("C2") == []
    assert len(fake.messages("C3")[0]["blocks"]) == 50 and len(fake.messages("C4")) == 1


@pytest.mark.asyncio
async def test_ephemeral_messages(fake: FakeSlack) -> None:
    client = client_for(fake)
    sent = await client.chat_postEphemeral(channel=CHANNEL, user="U1", text="あなただけに")
    assert sent["message_ts"]
    with pytest.raises(SlackApiError) as outsider:
        await client.chat_postEphemeral(channel=CHANNEL, user="U9", text="x")
    assert outsider.value.response["error"] == "user_not_in_channel"
    (ephemeral,) = fake.ephemerals
    assert ephemeral["channel"] == CHANNEL and ephemeral["user"] == "U1"
    assert ephemeral["text"] == "あなただけに" and ephemeral["blocks"] == []
    assert fake.messages(CHANNEL) == []


@pytest.mark.asyncio
async def test_views_open_update_push(fake: FakeSlack) -> None:
    client = client_for(fake)
    opened = await client.views_open(trigger_id="trig-1", view=modal(private_metadata="c1"))
    view_id = opened["view"]["id"]
    assert view_id.startswith("V") and opened["view"]["private_metadata"] == "c1"
    updated = await client.views_update(view_id=view_id, view=modal("edited"))
    assert updated["view"]["id"] == view_id and updated["view"]["callback_id"] == "edited"
    pushed = await client.views_push(trigger_id="trig-2", view=modal("second"))
    assert pushed["view"]["id"] != view_id
    with pytest.raises(SlackApiError) as no_trigger:
        await client.views_open(view=modal())
    assert no_trigger.value.response["error"] == "invalid_trigger_id"
    with pytest.raises(SlackApiError) as unknown:
        await client.views_update(view_id="V404", view=modal())
    assert unknown.value.response["error"] == "not_found"
    with pytest.raises(SlackApiError) as too_big:
        await client.views_open(trigger_id="t", view=modal(private_metadata="x" * 3001))
    assert too_big.value.response["error"] == "invalid_arguments"
    views = fake.views
    assert [v["method"] for v in views] == ["views.open", "views.update", "views.push"]
    assert views[0]["trigger_id"] == "trig-1" and views[0]["view"] == modal(private_metadata="c1")
    assert views[1]["view_id"] == views[0]["view_id"]


@pytest.mark.asyncio
async def test_conversations_and_users(fake: FakeSlack) -> None:
    client = client_for(fake)
    members = await client.conversations_members(channel=CHANNEL)
    assert members["members"] == ["U1", "U2", "UBOT"]
    first = await client.conversations_members(channel=CHANNEL, limit=2)
    assert first["members"] == ["U1", "U2"]
    cursor = first["response_metadata"]["next_cursor"]
    rest = await client.conversations_members(channel=CHANNEL, cursor=cursor, limit=2)
    assert rest["members"] == ["UBOT"] and rest["response_metadata"]["next_cursor"] == ""
    with pytest.raises(SlackApiError) as unknown:
        await client.conversations_members(channel=OTHER_CHANNEL)
    assert unknown.value.response["error"] == "channel_not_found"
    info = await client.conversations_info(channel=CHANNEL)
    assert info["channel"]["id"] == CHANNEL and info["channel"]["is_member"] is True
    user = await client.users_info(user="U2", include_locale=True)
    assert user["user"]["id"] == "U2" and user["user"]["locale"] == "ja-JP"
    # These are GETs with query parameters (booleans as "1"/"0"), not JSON.
    (call,) = fake.calls_to("users.info")
    assert call.params == {"user": "U2", "include_locale": "1"}


@pytest.mark.asyncio
async def test_response_url_receives_respond_posts(fake: FakeSlack) -> None:
    webhook = AsyncWebhookClient(fake.response_url("r1"))
    response = await webhook.send(text="受け付けました", replace_original=True)
    status = response.status_code
    assert status == 200
    assert fake.responses == [
        {"id": "r1", "body": {"text": "受け付けました", "replace_original": True}}
    ]
    assert fake.calls == []  # response_url posts are not Web API calls


def test_payload_builders() -> None:
    message = {
        "ts": "1700000000.000100",
        "channel": CHANNEL,
        "text": "t",
        "blocks": [{**buttons(("claim", "case-1")), "block_id": "acts"}],
    }
    payload = block_actions_payload(
        user_id="U1",
        channel_id=CHANNEL,
        message=message,
        action_id="claim",
        value="case-1",
        response_url="http://127.0.0.1:1/response/r",
    )
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U1"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1700000000.000100",
        "channel_id": CHANNEL,
        "is_ephemeral": False,
    }
    (action,) = payload["actions"]
    assert action["block_id"] == "acts" and action["type"] == "button"
    assert "channel" not in payload["message"]
    with pytest.raises(ValueError):
        block_actions_payload(
            user_id="U1",
            channel_id=CHANNEL,
            message=message,
            action_id="nope",
            value="case-1",
            response_url="x",
        )
    submission = view_submission_payload(
        user_id="U1", callback_id="intake", private_metadata="c1", values={"b": {}}
    )
    assert submission["view"]["state"]["values"] == {"b": {}}
    form = slash_command_form(
        user_id="U1", channel_id=CHANNEL, command="/madoguchi", text="list", response_url="x"
    )
    assert all(isinstance(v, str) for v in form.values()) and form["command"] == "/madoguchi"


def signed_headers(body: str, content_type: str) -> dict[str, str | Sequence[str]]:
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(
        timestamp=timestamp, body=body
    )
    assert signature is not None
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature,
    }


@pytest.mark.asyncio
async def test_bolt_app_handles_a_button_a_command_and_a_submission(fake: FakeSlack) -> None:
    """The builders' payloads go through a real bolt AsyncApp, which calls the fake."""
    seen: dict[str, Any] = {}

    client = client_for(fake)
    app = AsyncApp(client=client, token=fake.token, signing_secret=SIGNING_SECRET)

    @app.action("claim")
    async def claim(ack: Any, body: dict[str, Any], respond: Any, client: Any) -> None:
        await ack()
        await client.chat_update(
            channel=body["channel"]["id"],
            ts=body["container"]["message_ts"],
            text=f"claimed by {body['user']['id']}",
        )
        await respond(text="ok", replace_original=False)

    @app.command("/madoguchi")
    async def command(ack: Any, command: dict[str, Any], client: Any) -> None:
        await ack()
        await client.views_open(trigger_id=command["trigger_id"], view=modal())

    @app.view("intake")
    async def submitted(ack: Any, view: dict[str, Any]) -> None:
        seen["values"] = view["state"]["values"]
        await ack()

    posted = await client.chat_postMessage(
        channel=CHANNEL, text="新しい相談", blocks=[buttons(("claim", "case-1"))]
    )
    payload = block_actions_payload(
        user_id="U1",
        channel_id=CHANNEL,
        message=posted["message"],
        action_id="claim",
        value="case-1",
        response_url=fake.response_url("r1"),
    )
    body = urlencode({"payload": json.dumps(payload)})
    headers = signed_headers(body, "application/x-www-form-urlencoded")
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 200

    form = slash_command_form(
        user_id="U1",
        channel_id=CHANNEL,
        command="/madoguchi",
        text="",
        response_url=fake.response_url("r2"),
    )
    body = urlencode(form)
    headers = signed_headers(body, "application/x-www-form-urlencoded")
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 200

    values = {"note": {"note_input": {"type": "plain_text_input", "value": "メモ"}}}
    payload = view_submission_payload(
        user_id="U1", callback_id="intake", private_metadata="", values=values
    )
    body = urlencode({"payload": json.dumps(payload)})
    headers = signed_headers(body, "application/x-www-form-urlencoded")
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 200
    # bolt acks first and finishes each listener in a task of this loop
    await wait_until(lambda: fake.responses and fake.views)
    assert fake.messages(CHANNEL)[0]["text"] == "claimed by U1"
    assert fake.responses == [{"id": "r1", "body": {"text": "ok", "replace_original": False}}]
    (opened,) = fake.views
    assert opened["trigger_id"] == "trig-2" and opened["view"]["callback_id"] == "intake"
    assert seen["values"]["note"]["note_input"]["value"] == "メモ"
    assert len(fake.calls_to("auth.test")) == 1  # bolt's single-team authorization, cached
