"""Operators manage the calendar and the office with `madoguchi` sub-commands."""

from __future__ import annotations

import pytest

from bot import config


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


@pytest.mark.parametrize("value", ["0", "-1", "two", "٣", "65", "1.5"])
def test_steps_at_once_must_be_a_small_whole_number(tmp_path, value):
    with pytest.raises(config.ConfigError) as err:
        config.load({"MADOGUCHI_DATA_DIR": str(tmp_path), "MADOGUCHI_STEPS_AT_ONCE": value})
    assert "MADOGUCHI_STEPS_AT_ONCE must be a whole number from 1 to 64" in str(err.value)


def test_steps_at_once_reaches_the_intake(tmp_path):
    from bot.app import build

    assert config.load({"MADOGUCHI_DATA_DIR": str(tmp_path)}).steps_at_once == 2
    settings = config.load({"MADOGUCHI_DATA_DIR": str(tmp_path), "MADOGUCHI_STEPS_AT_ONCE": "3"})
    app = build(settings)
    assert app.intake.steps_at_once == 3
    app.db.dispose()


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
            "LINE_CHANNEL_SECRET": "the-secret-0123456789",
            "LINE_CHANNEL_ACCESS_TOKEN": "the-token",
            "LINE_API_BASE_URL": "http://127.0.0.1:9/",
        }
    )
    assert settings.line is not None and settings.line.api_base_url == "http://127.0.0.1:9"
    assert "the-secret" not in repr(settings) and "the-token" not in repr(settings)
    assert config.load({"MADOGUCHI_DATA_DIR": str(tmp_path)}).line is None
