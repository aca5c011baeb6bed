"""Settings: defaults, and a wrong value stops the start with the variable's name."""

import pytest

from base.settings import SettingsError, load_settings
from bot.cli.main import main

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


# --- a setting that is well formed but does not work stops the start with one line ----------

@pytest.fixture
def environment(monkeypatch):
    """None of this machine's BINHYEN_* settings (the tests' own BINHYEN_TEST_* stay)."""
    import os

    for name in os.environ:
        if name.startswith("BINHYEN_") and not name.startswith("BINHYEN_TEST_"):
            monkeypatch.delenv(name)
    return monkeypatch


def one_line_naming(capsys, variable: str) -> str:
    """The error output, which must be one line naming `variable`, without a traceback."""
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith(f"{variable}: "), err
    return err


def closed_port() -> int:
    from testkit.processes import free_port

    return free_port()


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "script.txt"
    path.write_text("/start\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("command", [
    ["db", "current"], ["db", "upgrade"], ["members", "list"], ["chat", "--user", "1", "--script"], ["run"],
], ids=" ".join)
def test_a_database_that_does_not_answer_is_named_at_start(environment, capsys, script, command):
    environment.setenv("BINHYEN_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/x")
    if command[0] == "chat":
        command = [*command, script]
    assert main(command) == 2
    assert "không kết nối được" in one_line_naming(capsys, "BINHYEN_DATABASE_URL")


@pytest.mark.parametrize("kind", ["a folder that does not exist", "a PostgreSQL database that does not exist"])
def test_a_database_that_cannot_be_opened_is_named_with_the_reason(environment, capsys, kind):
    if kind.startswith("a folder"):
        url, reason = "sqlite+aiosqlite:////nonexistent/dir/x.db", "no folder /nonexistent/dir"
    else:
        from sqlalchemy.engine import make_url

        from testkit.services import postgres_url

        url = make_url(postgres_url()).set(database="doesnotexist").render_as_string(hide_password=False)
        reason = 'database "doesnotexist" does not exist'
    environment.setenv("BINHYEN_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 2
    assert reason in one_line_naming(capsys, "BINHYEN_DATABASE_URL")


def test_a_redis_that_does_not_answer_is_named_at_start(environment, capsys, database_url, script):
    environment.setenv("BINHYEN_DATABASE_URL", database_url)
    environment.setenv("BINHYEN_REDIS_URL", f"redis://127.0.0.1:{closed_port()}/0")
    assert main(["chat", "--user", "1", "--script", script]) == 2
    assert "không kết nối được" in one_line_naming(capsys, "BINHYEN_REDIS_URL")
    assert "›" not in capsys.readouterr().out  # no line of the script was sent


def test_a_token_telegram_refuses_is_named_at_start(environment, capsys, database_url):
    from testkit.fake_telegram import serving_in_thread

    environment.setenv("BINHYEN_DATABASE_URL", database_url)
    environment.setenv("BINHYEN_TELEGRAM_TOKEN", TOKEN)
    with serving_in_thread(unauthorized=True) as base:
        environment.setenv("BINHYEN_TELEGRAM_API_BASE", base)
        assert main(["run"]) == 2
    err = one_line_naming(capsys, "BINHYEN_TELEGRAM_TOKEN")
    assert "@BotFather" in err and TOKEN.partition(":")[2] not in err


def test_a_bot_api_server_that_does_not_answer_is_named_at_start(environment, capsys, database_url):
    environment.setenv("BINHYEN_DATABASE_URL", database_url)
    environment.setenv("BINHYEN_TELEGRAM_TOKEN", TOKEN)
    environment.setenv("BINHYEN_TELEGRAM_API_BASE", f"http://127.0.0.1:{closed_port()}")
    assert main(["run", "--role", "bot"]) == 2
    err = one_line_naming(capsys, "BINHYEN_TELEGRAM_API_BASE")
    assert "không kết nối được" in err and TOKEN.partition(":")[2] not in err


def test_a_webhook_must_be_https(environment, capsys):
    environment.setenv("BINHYEN_TELEGRAM_TOKEN", TOKEN)
    environment.setenv("BINHYEN_WEBHOOK_SECRET", "s3cret_token-1")
    environment.setenv("BINHYEN_WEBHOOK_URL", "http://bot.example.vn/tg")
    assert main(["run"]) == 2
    assert "BINHYEN_WEBHOOK_URL must be an https:// URL" in capsys.readouterr().err
