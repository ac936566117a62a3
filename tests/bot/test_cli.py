"""Operators manage the calendar and the office with `madoguchi` sub-commands."""

from __future__ import annotations

import pytest

from bot import cli, config


def test_config_errors_list_every_problem(tmp_path):
    with pytest.raises(config.ConfigError) as err:
        config.load(
            {
                "MADOGUCHI_DATA_DIR": str(tmp_path),
                "DATABASE_URL": "mysql://x",
                "MADOGUCHI_SECRET_KEY": "short",
                "MADOGUCHI_MEETING_LINK_TEMPLATE": "http://meet/{reference}",
                "MADOGUCHI_LOG_LEVEL": "LOUD",
            }
        )
    message = str(err.value)
    for variable in (
        "DATABASE_URL",
        "MADOGUCHI_SECRET_KEY",
        "MADOGUCHI_MEETING_LINK_TEMPLATE",
        "MADOGUCHI_LOG_LEVEL",
    ):
        assert variable in message


def test_calendar_commands_change_what_is_offered(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert cli.main(["calendar", "show", "--from", "2026-12-28", "--days", "8"]) == 0
    shown = capsys.readouterr().out
    assert "2026-12-28 Mon  08:30 0/2" in shown
    assert "2026-12-29 Tue  closed (year-end)" in shown
    assert "2027-01-01 Fri  closed (year-end)" in shown
    assert "2027-01-03 Sun  closed" in shown
    assert cli.main(["calendar", "close", "2026-12-28", "--from", "08:30", "--to", "12:00"]) == 0
    assert (
        cli.main(
            ["calendar", "open", "2027-01-02", "--from", "09:00", "--to", "10:00", "--places", "1"]
        )
        == 0
    )
    assert cli.main(["calendar", "places", "2026-12-28", "5", "--at", "13:00"]) == 0
    capsys.readouterr()
    assert cli.main(["calendar", "show", "--from", "2026-12-28", "--days", "6"]) == 0
    shown = capsys.readouterr().out
    day = next(line for line in shown.splitlines() if line.startswith("2026-12-28"))
    assert "08:30" not in day and "12:00 0/2" in day and "13:00 0/5" in day
    assert "2027-01-02 Sat  09:00 0/1  09:30 0/1" in shown
    assert cli.main(["calendar", "rules"]) == 0
    rules = capsys.readouterr().out
    assert rules.count("#") == 3
    assert cli.main(["calendar", "remove", "2"]) == 0
    assert cli.main(["calendar", "remove", "99"]) == 1
    assert cli.main(["calendar", "open", "2027-01-02", "--from", "10:00", "--to", "09:00"]) == 2


def test_office_settings_are_checked(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert cli.main(["office", "set", "places_per_slot", "3"]) == 0
    assert "places_per_slot: 3" in capsys.readouterr().out
    assert cli.main(["office", "set", "meeting_link_template", "http://insecure/{token}"]) == 2
    assert cli.main(["office", "set", "hours", "mon-fri 09:00-16:00"]) == 0
    assert cli.main(["office", "set", "colour", "blue"]) == 2


@pytest.mark.parametrize(
    "env",
    [
        {"LINE_CHANNEL_SECRET": "secret"},
        {"LINE_CHANNEL_ACCESS_TOKEN": "token"},
        {"LINE_CHANNEL_SECRET": "", "LINE_CHANNEL_ACCESS_TOKEN": "token"},
        {"LINE_CHANNEL_SECRET": "secret", "LINE_CHANNEL_ACCESS_TOKEN": "  "},
    ],
)
def test_line_needs_both_its_secret_and_its_token(tmp_path, env):
    with pytest.raises(config.ConfigError) as err:
        config.load({"MADOGUCHI_DATA_DIR": str(tmp_path), **env})
    assert "LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN" in str(err.value)


def test_line_settings_are_read_and_never_printed(tmp_path):
    settings = config.load(
        {
            "MADOGUCHI_DATA_DIR": str(tmp_path),
            "LINE_CHANNEL_SECRET": "the-secret",
            "LINE_CHANNEL_ACCESS_TOKEN": "the-token",
            "LINE_API_BASE_URL": "http://127.0.0.1:9/",
        }
    )
    assert settings.line is not None and settings.line.api_base_url == "http://127.0.0.1:9"
    assert "the-secret" not in repr(settings) and "the-token" not in repr(settings)
    assert config.load({"MADOGUCHI_DATA_DIR": str(tmp_path)}).line is None
