"""The key that opens the data is not kept in the data folder; secrets never show."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot import config
from bot.settings import embedded_secret_key
from storage.vault import Vault


def test_the_generated_key_lives_outside_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    settings = config.load({"MADOGUCHI_DATA_DIR": str(tmp_path / "data")})
    key = embedded_secret_key(settings)
    Vault.check_key(key)
    path = tmp_path / "config" / "madoguchi" / "secret.key"
    assert settings.secret_key_file == path.resolve()
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list((tmp_path / "data").glob("**/secret.key"))
    assert embedded_secret_key(settings) == key  # read again, not made anew


def test_a_named_key_file_is_used_and_never_inside_the_data_folder(tmp_path):
    named = tmp_path / "keys" / "madoguchi.key"
    env = {"MADOGUCHI_DATA_DIR": str(tmp_path / "data"), "MADOGUCHI_SECRET_KEY_FILE": str(named)}
    key = embedded_secret_key(config.load(env))
    assert named.read_text().strip() == key
    inside = {**env, "MADOGUCHI_SECRET_KEY_FILE": str(tmp_path / "data" / "secret.key")}
    with pytest.raises(config.ConfigError, match="must not be inside MADOGUCHI_DATA_DIR"):
        config.load(inside)


def test_a_key_left_in_the_data_folder_by_an_earlier_version_is_moved_out(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    old = Vault.new_key()
    (data / "secret.key").write_text(old + "\n")
    named = tmp_path / "keys" / "secret.key"
    settings = config.load(
        {"MADOGUCHI_DATA_DIR": str(data), "MADOGUCHI_SECRET_KEY_FILE": str(named)}
    )
    assert embedded_secret_key(settings) == old
    assert named.read_text().strip() == old
    assert not (data / "secret.key").exists()


def test_configured_secrets_never_show_in_a_repr(tmp_path):
    secrets = {
        "MADOGUCHI_SECRET_KEY": Vault.new_key(),
        "TELEGRAM_BOT_TOKEN": "123456:telegram-token-value",
        "TELEGRAM_WEBHOOK_URL": "https://bot.example/telegram",
        "TELEGRAM_WEBHOOK_SECRET": "telegram-webhook-secret-0123",
        "LINE_CHANNEL_SECRET": "line-channel-secret-0123456789",
        "LINE_CHANNEL_ACCESS_TOKEN": "line-access-token-value",
        "SLACK_BOT_TOKEN": "xoxb-slack-bot-token-value",
        "SLACK_SIGNING_SECRET": "slack-signing-secret-0123456789",
        "SLACK_CHANNEL_ID": "C0123ABCD",
        "SLACK_APP_TOKEN": "xapp-slack-app-token-value",
    }
    settings = config.load({"MADOGUCHI_DATA_DIR": str(tmp_path), **secrets})
    shown = repr(settings) + str(settings) + "".join(repr(c) for c in settings.channels.values())
    for name, value in secrets.items():
        if "SECRET" in name or "TOKEN" in name:
            assert value not in shown, name


@pytest.mark.parametrize("name", ["LINE_CHANNEL_SECRET", "SLACK_SIGNING_SECRET"])
def test_a_one_character_channel_secret_is_refused(tmp_path, name):
    env = {
        "MADOGUCHI_DATA_DIR": str(tmp_path),
        "LINE_CHANNEL_SECRET": "line-channel-secret-0123456789",
        "LINE_CHANNEL_ACCESS_TOKEN": "line-access-token-value",
        "SLACK_BOT_TOKEN": "xoxb-slack-bot-token-value",
        "SLACK_SIGNING_SECRET": "slack-signing-secret-0123456789",
        "SLACK_CHANNEL_ID": "C0123ABCD",
    }
    config.load(env)
    with pytest.raises(config.ConfigError, match=f"{name} is too short"):
        config.load({**env, name: "x"})
