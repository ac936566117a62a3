"""The usage figures of a period (terms art. 7) as counselors read them: aligned tables for
the command line and Slack, one self-contained HTML page with charts.

Figures only, from the usage tables (storage/usage.py): never a reference, a time of day, a
chat id or an answer. Every word comes from the catalogs, in the counselors' language.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy.orm import Session

from bot.operator_out import table
from bot.rendering import Renderer
from flows.intake import SPECS
from storage import usage
from storage.models import Office

OUTCOMES = ("booked", "declined_terms", "not_eligible", "in_progress")
ENDINGS = ("cancelled", "no_show", "rescheduled")


def figures(session: Session, office: Office, start: date, end: date) -> usage.Figures:
    """Return the office's usage figures of the days `start`..`end` (its own dates)."""
    tz = ZoneInfo(office.timezone)
    lo = datetime.combine(start, time(0), tz)
    hi = datetime.combine(end + timedelta(days=1), time(0), tz)
    return usage.figures(session, office.id, start=start, end=end, lo=lo, hi=hi)


def last_week(today: date) -> tuple[date, date]:
    """Return the seven days before `today` (the weekly summary's period)."""
    return today - timedelta(days=7), today - timedelta(days=1)


@dataclass(frozen=True)
class Section:
    """One heading and its table (the first row is the header when `header` is set)."""

    heading: str
    rows: list[list[str]]
    header: bool = True


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def steps(found: usage.Figures) -> list[str]:
    """Return the states anyone reached or stopped at, in the order of the intake table."""
    return [
        str(spec.state)
        for spec in SPECS
        if found.reached[spec.state] or found.stopped_at[spec.state]
    ]


def sections(found: usage.Figures, r: Renderer) -> list[Section]:
    """Return the figures as tables: funnel, outcomes, bookings per day, rates, kinds."""
    channels = sorted(found.reached_by_channel)
    languages = sorted(found.reached_by_language)
    head = [r.text(f"operator.column.{c}") for c in ("step", "reached", "stopped_here")]
    head += [r.text(f"channel.{c}") for c in channels]
    head += [r.text(f"language.native.{lang}") if lang != "-" else "-" for lang in languages]
    funnel = [head]
    for state in steps(found):
        funnel.append(
            [
                r.text(f"operator.state.{state}"),
                str(found.reached[state]),
                str(found.stopped_at[state]),
                *(str(found.reached_by_channel[c][state]) for c in channels),
                *(str(found.reached_by_language[lang][state]) for lang in languages),
            ]
        )
    count_head = [r.text(f"operator.column.{c}") for c in ("count", "share")]
    outcomes = [["", *count_head]] + [
        [
            r.text(f"operator.stats.outcome.{o}"),
            str(found.outcomes[o]),
            _share(found.outcomes[o], found.conversations),
        ]
        for o in OUTCOMES
    ]
    per_day = [
        [day.isoformat(), format_date(day, "EEE", locale=r.locale), str(n)]
        for day, n in found.bookings_per_day.items()
    ]
    leads = sum(found.lead_days.values())
    average = sum(d * n for d, n in found.lead_days.items()) / leads if leads else None
    made = [["", *count_head], [r.text("operator.stats.row.bookings"), str(found.bookings), ""]]
    made += [
        [
            r.text(f"operator.stats.row.{e}"),
            str(found.ended[e]),
            _share(found.ended[e], found.bookings),
        ]
        for e in ENDINGS
    ]
    made.append(
        [r.text("operator.stats.row.lead_days"), "-" if average is None else f"{average:.1f}", ""]
    )
    kinds = [
        [r.text(f"operator.accommodation.{kind}"), str(n)]
        for kind, n in sorted(found.accommodations.items())
    ] or [[r.text("operator.stats.none")]]
    return [
        Section(r.text("operator.stats.funnel"), funnel),
        Section(r.text("operator.stats.outcomes"), outcomes),
        Section(r.text("operator.stats.per_day"), per_day, header=False),
        Section(r.text("operator.stats.bookings"), made),
        Section(r.text("operator.stats.accommodations"), kinds, header=False),
    ]


def title(found: usage.Figures, r: Renderer, office: str) -> str:
    """Return the report's title line."""
    return r.text(
        "operator.stats.title", office=office, start=str(found.start), end=str(found.end)
    )


def text_lines(found: usage.Figures, r: Renderer, office: str) -> list[str]:
    """Return the whole report as lines of aligned tables."""
    lines = [
        title(found, r, office),
        r.text("operator.stats.conversations", count=found.conversations),
    ]
    for section in sections(found, r):
        lines += ["", section.heading, *table(section.rows)]
    return lines


def slack_blocks(found: usage.Figures, r: Renderer, heading: str) -> list[dict[str, object]]:
    """Return the report as Slack blocks: the heading, then each table as a code block."""
    blocks: list[dict[str, object]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": heading}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": r.text("operator.stats.conversations", count=found.conversations),
            },
        },
    ]
    for section in sections(found, r):
        body = "\n".join(table(section.rows))[:2900]
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{section.heading}*\n```{body}```"},
            }
        )
    return blocks


# The HTML page: inline CSS and SVG only, so it opens anywhere with no network and no script.
_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #bbb; padding: 0.2em 0.6em; text-align: right; }
td:first-child, th:first-child { text-align: left; }
svg text { font-size: 12px; fill: #222; }
.bar { fill: #3b6ea5; }
"""


def _funnel_svg(found: usage.Figures, r: Renderer) -> str:
    rows = steps(found)
    top = max((found.reached[s] for s in rows), default=0) or 1
    label_w, bar_w, row_h = 230, 400, 22
    parts = []
    for i, state in enumerate(rows):
        y = i * row_h
        n = found.reached[state]
        w = round(bar_w * n / top)
        label = html.escape(r.text(f"operator.state.{state}"))
        parts.append(
            f'<text x="0" y="{y + 15}">{label}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w}" height="{row_h - 6}"/>'
            f'<text x="{label_w + w + 4}" y="{y + 15}">{n}</text>'
        )
    height = max(len(rows), 1) * row_h
    name = html.escape(r.text("operator.stats.funnel"))
    return (
        f'<svg role="img" aria-label="{name}" width="{label_w + bar_w + 60}" '
        f'height="{height}" viewBox="0 0 {label_w + bar_w + 60} {height}">'
        f"<title>{name}</title>{''.join(parts)}</svg>"
    )


def _daily_svg(found: usage.Figures, r: Renderer) -> str:
    days = list(found.bookings_per_day.items())
    top = max((n for _, n in days), default=0) or 1
    # a week or a month in columns wide enough for their labels; a long period narrower,
    # with every few days labelled (the table below has each day)
    col_w = 44 if len(days) <= 22 else max(2, 968 // len(days))
    every = -(-44 // col_w)
    chart_h, base = 160, 180
    parts = []
    for i, (day, n) in enumerate(days):
        x = i * col_w
        h = round(chart_h * n / top)
        pad = col_w // 5
        parts.append(
            f'<rect class="bar" x="{x + pad}" y="{base - h}" width="{col_w - 2 * pad}" '
            f'height="{h}"/>'
        )
        if every == 1:
            parts.append(
                f'<text x="{x + col_w // 2}" y="{base - h - 4}" text-anchor="middle">{n}</text>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + col_w // 2}" y="{base + 16}" text-anchor="middle">'
                f"{day:%m-%d}</text>"
            )
    width = max(len(days), 1) * col_w
    name = html.escape(r.text("operator.stats.per_day"))
    return (
        f'<svg role="img" aria-label="{name}" width="{width}" height="{base + 24}" '
        f'viewBox="0 0 {width} {base + 24}"><title>{name}</title>{"".join(parts)}</svg>'
    )


def _html_table(section: Section) -> str:
    out = []
    for i, row in enumerate(section.rows):
        cell = "th" if section.header and i == 0 else "td"
        out.append("<tr>" + "".join(f"<{cell}>{html.escape(c)}</{cell}>" for c in row) + "</tr>")
    return f"<table>{''.join(out)}</table>"


def html_page(found: usage.Figures, r: Renderer, office: str) -> str:
    """Return one self-contained HTML page: the charts (inline SVG) and the same tables."""
    heading = html.escape(title(found, r, office))
    body = [
        f"<h1>{heading}</h1>",
        f"<p>{html.escape(r.text('operator.stats.conversations', count=found.conversations))}</p>",
    ]
    for i, section in enumerate(sections(found, r)):
        body.append(f"<h2>{html.escape(section.heading)}</h2>")
        if i == 0:
            body.append(_funnel_svg(found, r))
        if i == 2:
            body.append(_daily_svg(found, r))
        body.append(_html_table(section))
    return (
        f'<!DOCTYPE html>\n<html lang="{r.language}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{heading}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
