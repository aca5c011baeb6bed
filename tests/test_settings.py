"""Settings: defaults, and a wrong value stops the start with the variable's name."""

import pytest

from bot.cli import main
from bot.settings import SettingsError, load_settings

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678"


def test_defaults_are_the_embedded_database_vietnamese_and_vietnam_time(monkeypatch):
    for name in ("DATABASE_URL", "DEFAULT_LOCALE", "TIMEZONE", "TELEGRAM_TOKEN", "REDIS_URL"):
        monkeypatch.delenv(f"BINHYEN_{name}", raising=False)
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///./binhyen.db"
    assert settings.default_locale == "vi"
    assert settings.timezone == "Asia/Ho_Chi_Minh"
    assert settings.telegram_token is None
    assert settings.telegram_api_base == "https://api.telegram.org"


def test_every_variable_is_read_from_the_environment(monkeypatch):
    values = {
        "DATABASE_URL": "postgresql+asyncpg://bot@db/binhyen",
        "TELEGRAM_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": "http://127.0.0.1:8081/",
        "WEBHOOK_URL": "https://bot.example.vn/tg",
        "WEBHOOK_SECRET": "s3cret_token-1",
        "WEBHOOK_LISTEN": "0.0.0.0:9000",
        "REDIS_URL": "redis://127.0.0.1:6379/2",
        "DEFAULT_LOCALE": "en",
        "TIMEZONE": "Asia/Bangkok",
        "LOG_LEVEL": "warning",
    }
    for name, value in values.items():
        monkeypatch.setenv(f"BINHYEN_{name}", value)
    settings = load_settings()
    assert settings.database_url == values["DATABASE_URL"]
    assert settings.telegram_token.get_secret_value() == TOKEN
    assert settings.telegram_api_base == "http://127.0.0.1:8081"
    assert settings.webhook_path == "/tg"
    assert settings.listen_host_port == ("0.0.0.0", 9000)
    assert settings.redis_url == values["REDIS_URL"]
    assert (settings.default_locale, settings.timezone, settings.log_level) == ("en", "Asia/Bangkok", "WARNING")
    assert TOKEN not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BINHYEN_DATABASE_URL", "mysql://localhost/x"),
        ("BINHYEN_TELEGRAM_TOKEN", "not-a-token"),
        ("BINHYEN_TELEGRAM_API_BASE", "ftp://example"),
        ("BINHYEN_WEBHOOK_LISTEN", "8080"),
        ("BINHYEN_WEBHOOK_SECRET", "has spaces in it"),
        ("BINHYEN_REDIS_URL", "localhost:6379"),
        ("BINHYEN_DEFAULT_LOCALE", "fr"),
        ("BINHYEN_TIMEZONE", "Mars/Olympus"),
        ("BINHYEN_LOG_LEVEL", "LOUD"),
    ],
)
def test_a_wrong_value_names_its_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert variable in str(error.value)


def test_a_webhook_needs_its_secret(monkeypatch):
    monkeypatch.setenv("BINHYEN_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("BINHYEN_WEBHOOK_URL", "https://bot.example.vn/tg")
    monkeypatch.delenv("BINHYEN_WEBHOOK_SECRET", raising=False)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "BINHYEN_WEBHOOK_SECRET" in str(error.value)


def test_the_command_line_stops_at_start_with_the_variable_named(monkeypatch, capsys):
    monkeypatch.setenv("BINHYEN_TIMEZONE", "Nowhere/City")
    assert main(["db", "current"]) == 2
    assert "BINHYEN_TIMEZONE" in capsys.readouterr().err
