"""The console channel: `binhyen chat` replays a script through the real dispatcher."""


from bot.cli.main import main


def test_a_script_shows_replies_and_numbers_press_buttons(database_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    assert main(["demo-data", "--households", "20", "--bare"]) == 0
    script = tmp_path / "script.txt"
    script.write_text("# a resident tries things\n/start\n/language\n2\n/help\n\n/area\n", encoding="utf-8")
    assert main(["chat", "--user", "9", "--script", str(script)]) == 0
    out = capsys.readouterr().out
    assert "› /start" in out and "113" in out
    assert "👉 Gõ số để chọn:\n1. Tiếng Việt\n2. English" in out
    assert "Switched to English." in out
    assert "What you can do:" in out
    assert "Your account does not have this permission." in out
    assert "# a resident" not in out


def test_a_script_that_cannot_be_read_is_named(database_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    missing = tmp_path / "missing.txt"
    assert main(["chat", "--user", "9", "--script", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == f"Không đọc được tệp {missing}: No such file or directory."
    latin = tmp_path / "latin.txt"
    latin.write_bytes("/start Bình\n".encode("utf-16"))
    assert main(["chat", "--user", "9", "--script", str(latin)]) == 2
    assert "không phải văn bản UTF-8" in capsys.readouterr().err


def test_the_demo_admin_can_use_staff_commands_on_the_console(database_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    main(["demo-data", "--households", "20", "--bare"])
    script = tmp_path / "script.txt"
    script.write_text("/area\n/area DEMO-01\n", encoding="utf-8")
    assert main(["chat", "--user", "4", "--script", str(script)]) == 0
    out = capsys.readouterr().out
    assert "Tỉnh Bình Yên (dữ liệu mẫu)" in out and "20 hộ" in out
    assert "• Ấp Bình Long (DEMO-01-01): 1 hộ" in out


def test_run_without_a_token_opens_the_console(database_url, monkeypatch, capsys):
    import io

    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    monkeypatch.delenv("BINHYEN_TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("BINHYEN_ZALO_TOKEN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("/start\n/quit\n"))
    assert main(["run", "--user", "12"]) == 0
    out = capsys.readouterr().out
    assert "console" in out and "113" in out


async def test_the_console_asks_to_try_again_when_redis_goes_away(settings, redis):
    """A webhook refuses an update while Redis is away (Telegram delivers it again); on the
    console the person is told to try again, and the chat goes on."""
    from base.settings import load_settings
    from bot.app import build_app
    from bot.channels.console import ConsoleChat
    from testkit.services import redis_url
    from testkit.tcp_proxy import TcpProxy

    proxy = await TcpProxy.to_redis(redis_url()).start()
    app = await build_app(load_settings(database_url=settings.database_url,
                                        redis_url=proxy.redis_url(redis_url())))
    lines: list[str] = []
    chat = ConsoleChat(app, 9, lines.append)
    try:
        await chat.say("/help")
        assert "Những việc bạn làm được" in lines[-1]
        await proxy.cut()
        await chat.say("/help")
        assert "thử lại" in lines[-1]
        await proxy.restore()
        await chat.say("/help")
        assert "Những việc bạn làm được" in lines[-1]
    finally:
        await app.close()
        await proxy.stop()
