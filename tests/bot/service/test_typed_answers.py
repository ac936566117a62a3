"""A conversation saved while it offered a label that was since renamed (e.g. the bare
"Yes" before labels said what they answer) still takes typed answers: the renamed option is
not matched by words (its number still picks it), the others are."""

from __future__ import annotations

from bot.service.typed_answers import resolve
from flows.codec import msg_to_json
from flows.model import Conversation, Event, Msg


def test_a_renamed_label_is_skipped_not_an_error():
    conv = Conversation(
        state="asking_device",
        language="en",
        turn=5,
        data={
            "offered": ["device:yes", "device:no"],
            "offered_labels": [
                msg_to_json(Msg("common.yes")),  # no longer in any catalog
                msg_to_json(Msg("eligibility.device.no")),
            ],
        },
    )
    assert resolve(conv, Event("text", "Yes")) == Event("text", "Yes")
    assert resolve(conv, Event("text", "No, I have no device with a camera")) == Event(
        "choice", "device:no", 5
    )
