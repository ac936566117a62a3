"""Check who may use the online consultation (terms art. 2): registration, number, device."""

from __future__ import annotations

from flows.dialog import Move, StoredAnswer, again, ask, choice, move, say, short
from flows.model import Conversation, Event, IntakePorts, Msg, Param, Reply
from flows.office_contact import contact
from flows.text_input import mask_jobseeker_number, normalize_jobseeker_number


def _registration_shown(path: object) -> Param:
    return Msg(f"booking.summary.registration.{path or 'office'}")


def _number_shown(number: object) -> Param:
    if not isinstance(number, str) or not number:
        return Msg("booking.summary.number_unknown")
    return mask_jobseeker_number(number)


REGISTRATION = StoredAnswer("registration", "answer.registration", _registration_shown)
JOBSEEKER_NUMBER = StoredAnswer("jobseeker_number", "answer.jobseeker_number", _number_shown)


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


def answer_registration(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Remember the registration path; explain how to register when it is not done."""
    path = event.value.split(":", 1)[1]
    if path == "not_yet":
        return move("not_registered")
    conv.data["registration"] = path
    if path == "online":
        return move("registered", say("eligibility.registration.online_note"))
    return move("registered")


def prompt_not_registered(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Explain how to register first and offer to resume afterwards."""
    explain = ask(
        "eligibility.not_registered.explain",
        choice("registered:now", "eligibility.not_registered.done"),
    )
    return [short(explain, "eligibility.not_registered.question")]


def answer_not_registered(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Resume at the registration question."""
    return move("registered")


def prompt_number(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask for the jobseeker number (five digits, hyphen, eight digits)."""
    return [ask("eligibility.number.ask", choice("number:unknown", "eligibility.number.unknown"))]


def answer_number(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Take a well-formed number, or 'I don't know it'; explain the format otherwise."""
    if event.kind == "choice":
        conv.data["jobseeker_number"] = None
        return move("given", say("eligibility.number.unknown_ack"))
    number = normalize_jobseeker_number(event.value)
    if number is None:
        return again("eligibility.number.invalid")
    conv.data["jobseeker_number"] = number
    return move("given")


def prompt_device(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Ask for a device with a web camera that runs the meeting app (terms art. 2(3))."""
    return [
        ask(
            "eligibility.device.ask",
            choice("device:yes", "eligibility.device.yes"),
            choice("device:no", "eligibility.device.no"),
            meeting_app=ports.office().meeting_app,
        )
    ]


def answer_device(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Go on to the environment checks, or explain what is needed."""
    if event.value == "device:no":
        return move("no_device")
    return move("has_device", say("environment.intro"))


def prompt_no_device(conv: Conversation, ports: IntakePorts) -> list[Reply]:
    """Explain the device requirement and other ways to consult."""
    explain = ask(
        "eligibility.no_device.explain",
        choice("device_ready:yes", "eligibility.no_device.now_have"),
        meeting_app=ports.office().meeting_app,
        contact=contact(ports.office()),
    )
    return [short(explain, "eligibility.no_device.question")]


def answer_no_device(conv: Conversation, event: Event, ports: IntakePorts) -> Move:
    """Ask about the device again."""
    return move("ready")
