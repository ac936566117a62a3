"""Versions of each office's terms of use (art. 13), their texts, and who was told of them.

An office's versions are numbered; each takes effect on its own day, which is also the label
consent records name (the shipped text, 2022-04-01, is version 1, stored on first use). The
version in force is the last one whose day has come. A notice row says one user was told of
one version: unique, written with the message that told them, so nobody is told twice.
It decides nothing about who must be told; the service asks and writes here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flows import languages
from flows.terms_document import (
    ORIGINAL,
    MalformedTerms,
    TermsDocument,
    check_structure,
    compose,
    parse_terms,
    shipped,
    shipped_text,
)
from storage import offices
from storage.kept import Kept
from storage.models import (
    Booking,
    Consent,
    Conversation,
    Office,
    TermsNotice,
    TermsText,
    TermsVersion,
)

TERMS = "terms"
"""The consent document name of the terms of use."""


class PublishRefused(ValueError):
    """A new version cannot be published as given; `reason` names why, for the operator."""

    def __init__(self, reason: str, **details: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


@dataclass(frozen=True)
class VersionLine:
    """One version as operators list it."""

    number: int
    effective: date
    languages: tuple[str, ...]
    told: int
    in_force: bool


def office_today(office: Office, now: datetime) -> date:
    """Return the office-local day of `now` (a version takes effect at the office's midnight)."""
    return now.astimezone(ZoneInfo(office.timezone)).date()


def label(version: TermsVersion) -> str:
    """Return the label consent records name: the effective day, YYYY-MM-DD."""
    return version.effective_on.isoformat()


def seed(session: Session, office: Office, now: datetime) -> None:
    """Store the shipped text as the office's version 1, unless it has a version already."""
    if office.terms_token:  # read (or stored) before: the office has its versions
        return
    if session.scalar(select(TermsVersion.id).where(TermsVersion.office_id == office.id)):
        versions_changed(session, office)
        return
    original = shipped(ORIGINAL)
    try:
        with session.begin_nested():
            version = TermsVersion(
                office_id=office.id,
                number=1,
                effective_on=original.effective,
                summaries={},
                published_at=now,
            )
            session.add(version)
            session.flush()
            for code in languages.codes():
                text = shipped_text(code)
                if text is not None:
                    session.add(_text(version, code, text))
            versions_changed(session, office)
    except IntegrityError:  # another transaction stored it first
        pass


def versions_changed(session: Session, office: Office) -> None:
    """Renew the office's terms token: every process reads its versions again."""
    offices.renew_token(session, office, "terms_token")


_KNOWN: Kept[str, tuple[tuple[int, date], ...]] = Kept(64)
"""(number, effective day) of an office's versions, by the terms token they were read under."""


def _announcing(known: Sequence[tuple[int, date]], today: date) -> list[int]:
    """Return the numbers of the versions to announce among (number, effective day), oldest
    first: the one in force on `today` (unless it is the first) and those taking effect later."""
    due = [effective for _, effective in known if effective <= today]
    current = due[-1] if due else known[0][1]
    return [number for number, effective in known if number > 1 and effective >= current]


def _nothing_to_announce(session: Session, office: Office, now: datetime, today: date) -> bool:
    """Return True when `announced` would be empty, read once per terms token and process
    (a user's every message asks; versions change a few times a year)."""
    known = _KNOWN.get(office.terms_token or "")
    if known is None:
        known = tuple((v.number, v.effective_on) for v in versions(session, office, now))
        if office.terms_token:
            _KNOWN.put(office.terms_token, known)
    return not _announcing(known, today)


def _text(version: TermsVersion, language: str, text: str) -> TermsText:
    return TermsText(
        version_id=version.id,
        language=language,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def versions(session: Session, office: Office, now: datetime) -> list[TermsVersion]:
    """Return the office's versions, oldest first (version 1 stored first if missing)."""
    seed(session, office, now)
    return list(
        session.scalars(
            select(TermsVersion)
            .where(TermsVersion.office_id == office.id)
            .order_by(TermsVersion.number)
        )
    )


def in_force(session: Session, office: Office, now: datetime, today: date) -> TermsVersion:
    """Return the version in force on `today` (office-local): the last one whose day came."""
    return _in_force(versions(session, office, now), today)


def _in_force(known: list[TermsVersion], today: date) -> TermsVersion:
    found = [v for v in known if v.effective_on <= today]
    return found[-1] if found else known[0]


def by_label(session: Session, office: Office, version_label: str) -> TermsVersion | None:
    """Return the office's version with this label (its effective day), if any."""
    try:
        day = date.fromisoformat(version_label)
    except ValueError:
        return None
    return session.scalar(
        select(TermsVersion).where(
            TermsVersion.office_id == office.id, TermsVersion.effective_on == day
        )
    )


def document(session: Session, version: TermsVersion, language: str) -> TermsDocument:
    """Return a version in `language`, or its Japanese original when it has no translation
    into `language` (then `translated` is False)."""
    texts = {
        t.language: t.text
        for t in session.scalars(select(TermsText).where(TermsText.version_id == version.id))
    }
    shown = language if language in texts else ORIGINAL
    doc = parse_terms(texts[shown], language=shown)
    summary = version.summaries.get(language) or version.summaries.get(ORIGINAL, "")
    return TermsDocument(
        language=doc.language,
        version=label(version),
        title=doc.title,
        sections=doc.sections,
        sha256=doc.sha256,
        translated=shown == language,
        summary=summary,
    )


def publish(
    session: Session,
    office: Office,
    texts: Mapping[str, str],
    *,
    effective: date,
    today: date,
    summaries: Mapping[str, str],
    now: datetime,
) -> TermsVersion:
    """Add a version: the Japanese original, translations into offered languages, the day it
    takes effect (not past, after every earlier version's) and optional summaries.

    Raise `PublishRefused` (nothing stored) when any of it is wrong.
    """
    unknown = sorted(set(texts) - set(languages.codes()))
    if unknown:
        raise PublishRefused("language", language=unknown[0])
    if ORIGINAL not in texts:
        raise PublishRefused("original")
    if effective < today:
        raise PublishRefused("past", effective=effective, today=today)
    known = versions(session, office, now)
    if known and effective <= known[-1].effective_on:
        raise PublishRefused("not_after", effective=effective, last=known[-1].effective_on)
    stored = {
        code: compose(text, language=code, version=effective.isoformat())
        for code, text in texts.items()
    }
    parsed = {}
    for code, text in stored.items():
        try:
            parsed[code] = parse_terms(text, language=code)
        except ValueError:
            raise MalformedTerms("sections", language=code) from None
    for code, doc in sorted(parsed.items(), key=lambda item: item[0] != ORIGINAL):
        try:
            check_structure(doc, original=None if code == ORIGINAL else parsed[ORIGINAL])
        except MalformedTerms as bad:
            bad.details["language"] = code
            raise
    version = TermsVersion(
        office_id=office.id,
        number=(known[-1].number + 1) if known else 1,
        effective_on=effective,
        summaries={code: text for code, text in summaries.items() if text},
        published_at=now,
    )
    session.add(version)
    session.flush()
    for code, text in stored.items():
        session.add(_text(version, code, text))
    versions_changed(session, office)
    session.flush()
    return version


def listing(session: Session, office: Office, now: datetime, today: date) -> list[VersionLine]:
    """Return every version with its languages, how many users were told, and which is in
    force."""
    current = in_force(session, office, now, today)
    told = dict(
        session.execute(
            select(TermsNotice.version_id, func.count()).group_by(TermsNotice.version_id)
        ).all()
    )
    lines = []
    for version in versions(session, office, now):
        codes = session.scalars(
            select(TermsText.language)
            .where(TermsText.version_id == version.id)
            .order_by(TermsText.language)
        )
        lines.append(
            VersionLine(
                number=version.number,
                effective=version.effective_on,
                languages=tuple(codes),
                told=told.get(version.id, 0),
                in_force=version.id == current.id,
            )
        )
    return lines


def announced(session: Session, office: Office, now: datetime, today: date) -> list[TermsVersion]:
    """Return the versions users may still need to be told of: the one in force (unless it
    is the first) and those published to take effect later, oldest first."""
    known = versions(session, office, now)
    numbers = _announcing([(v.number, v.effective_on) for v in known], today)
    return [v for v in known if v.number in numbers]


def _consented_before(version: TermsVersion, pseudonym: Any) -> ColumnElement[bool]:
    """A terms consent of this pseudonym, and none to this version or a later one (labels
    are days, YYYY-MM-DD, so they compare as text)."""
    consent = select(Consent.id).where(Consent.pseudonym == pseudonym, Consent.document == TERMS)
    return and_(consent.exists(), ~consent.where(Consent.version >= label(version)).exists())


def to_tell(
    session: Session,
    office: Office,
    version: TermsVersion,
    now: datetime,
    *,
    unfinished: Collection[str],
    limit: int,
) -> list[Conversation]:
    """Return up to `limit` conversations to tell of `version`: users of this office who
    agreed to an earlier version, were not told of this one, and have a booking ahead or an
    intake not finished (a state in `unfinished`)."""
    ahead = exists().where(
        Booking.channel == Conversation.channel,
        Booking.user_ref == Conversation.user_ref,
        Booking.status == "booked",
        Booking.starts_at > now,
    )
    told = exists().where(
        TermsNotice.version_id == version.id, TermsNotice.pseudonym == Conversation.pseudonym
    )
    return list(
        session.scalars(
            select(Conversation)
            .where(
                Conversation.office_id == office.id,
                ahead | Conversation.state.in_(list(unfinished)),
                ~told,
                _consented_before(version, Conversation.pseudonym),
            )
            .order_by(Conversation.id)
            .limit(limit)
        )
    )


def untold_for(
    session: Session, office: Office, pseudonym: str, now: datetime, today: date
) -> TermsVersion | None:
    """Return the newest announced version this user agreed to an earlier version of and was
    not told of (a user coming back), or None."""
    if _nothing_to_announce(session, office, now, today):
        return None
    for version in reversed(announced(session, office, now, today)):
        told = session.scalar(
            select(TermsNotice.id).where(
                TermsNotice.version_id == version.id, TermsNotice.pseudonym == pseudonym
            )
        )
        if told is not None:
            return None  # told of the newest change: nothing older to tell either
        if session.scalar(select(_consented_before(version, pseudonym))):
            return version
        return None
    return None


def record_notice(
    session: Session,
    version: TermsVersion,
    *,
    pseudonym: str,
    channel: str,
    language: str,
    now: datetime,
) -> None:
    """Record that this user was told of `version`; a second time fails (IntegrityError),
    so the caller's transaction, with its message, rolls back."""
    session.add(
        TermsNotice(
            version_id=version.id,
            pseudonym=pseudonym,
            channel=channel,
            language=language,
            told_at=now,
        )
    )
    session.flush()
