"""Check who may use the online consultation (terms art. 2): registration, number, device."""

from __future__ import annotations

from flows.dialog import StateSpec, ask, choice, goto, register, reject, say
from flows.model import Conversation, Event, IntakePorts, Outcome, Reply, State
from flows.text_input import normalize_jobseeker_number


def prompt_registration(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask whether jobseeker registration is complete (terms art. 2(2))."""
    return [
        ask(
            "eligibility.registration.ask",
            choice("reg:office", "eligibility.registration.office"),
            choice("reg:online", "eligibility.registration.online"),
            choice("reg:not_yet", "eligibility.registration.not_yet"),
        )
    ]


def answer_registration(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Remember the registration path; explain how to register when it is not done."""
    path = event.value.split(":", 1)[1]
    if path == "not_yet":
        return goto(conv, State.NOT_REGISTERED, ports)
    conv.data["registration"] = path
    before = [say("eligibility.registration.online_note")] if path == "online" else []
    return goto(conv, State.ASKING_JOBSEEKER_NUMBER, ports, before=before)


def prompt_not_registered(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Explain how to register first and offer to resume afterwards."""
    return [
        ask(
            "eligibility.not_registered.explain",
            choice("registered:now", "eligibility.not_registered.done"),
        )
    ]


def answer_not_registered(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Resume at the registration question."""
    return goto(conv, State.ASKING_REGISTRATION, ports)


def prompt_number(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask for the jobseeker number (five digits, hyphen, eight digits)."""
    return [
        ask(
            "eligibility.number.ask",
            choice("number:unknown", "eligibility.number.unknown"),
            expects_text=True,
        )
    ]


def answer_number(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Take a well-formed number, or 'I don't know it'; explain the format otherwise."""
    if event.kind == "choice":
        conv.data["jobseeker_number"] = None
        before = [say("eligibility.number.unknown_ack")]
        return goto(conv, State.ASKING_DEVICE, ports, before=before)
    number = normalize_jobseeker_number(event.value)
    if number is None:
        return reject(conv, ports, "eligibility.number.invalid")
    conv.data["jobseeker_number"] = number
    return goto(conv, State.ASKING_DEVICE, ports)


def prompt_device(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask for a device with a web camera that runs the meeting app (terms art. 2(3))."""
    return [
        ask(
            "eligibility.device.ask",
            choice("device:yes", "common.yes"),
            choice("device:no", "common.no"),
            meeting_app=ports.office().meeting_app,
        )
    ]


def answer_device(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Go on to the environment checks, or explain what is needed."""
    if event.value == "device:no":
        return goto(conv, State.NO_DEVICE, ports)
    return goto(conv, State.CHECKING_ENVIRONMENT, ports, before=[say("environment.intro")])


def prompt_no_device(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Explain the device requirement and other ways to consult."""
    return [
        ask(
            "eligibility.no_device.explain",
            choice("device_ready:yes", "eligibility.no_device.now_have"),
            meeting_app=ports.office().meeting_app,
        )
    ]


def answer_no_device(conv: Conversation, event: Event, ports: IntakePorts) -> Outcome:
    """Ask about the device again."""
    return goto(conv, State.ASKING_DEVICE, ports)


register(
    StateSpec(
        State.ASKING_REGISTRATION,
        prompt=prompt_registration,
        answer=answer_registration,
        transitions={"reg": (State.ASKING_JOBSEEKER_NUMBER, State.NOT_REGISTERED)},
        summary="registration (art. 2(2))",
    ),
    StateSpec(
        State.NOT_REGISTERED,
        prompt=prompt_not_registered,
        answer=answer_not_registered,
        transitions={"registered": (State.ASKING_REGISTRATION,)},
        summary="not registered: how to register",
    ),
    StateSpec(
        State.ASKING_JOBSEEKER_NUMBER,
        prompt=prompt_number,
        answer=answer_number,
        transitions={
            "number": (State.ASKING_DEVICE,),
            "text": (State.ASKING_DEVICE, State.ASKING_JOBSEEKER_NUMBER),
        },
        accepts_text=True,
        summary="jobseeker number",
    ),
    StateSpec(
        State.ASKING_DEVICE,
        prompt=prompt_device,
        answer=answer_device,
        transitions={"device": (State.CHECKING_ENVIRONMENT, State.NO_DEVICE)},
        summary="web camera device (art. 2(3))",
    ),
    StateSpec(
        State.NO_DEVICE,
        prompt=prompt_no_device,
        answer=answer_no_device,
        transitions={"device_ready": (State.ASKING_DEVICE,)},
        summary="no device: explain",
    ),
)
