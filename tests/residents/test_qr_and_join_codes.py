"""Join codes: every hamlet has one (also hamlets made before the migration), and its QR code."""

import asyncio
import re

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from sqlalchemy import text

from bot.cli.main import main
from db.migrate import upgrade
from db.services.areas import JOIN_ALPHABET
from db.session import make_engine
from testkit.arrange import tree


def test_the_qr_code_encodes_the_deep_link(database_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    assert main(["demo-data", "--households", "10", "--bare"]) == 0
    out_file = tmp_path / "qr.png"
    assert main(["qr", "demo-01-01", "--out", str(out_file), "--bot", "@binhyen_demo_bot"]) == 0
    lines = capsys.readouterr().out.splitlines()
    link = next(line for line in lines if line.startswith("https://"))
    join_code = link.rsplit("j_", 1)[1]
    assert link == f"https://t.me/binhyen_demo_bot?start=j_{join_code}"
    assert len(join_code) == 6 and set(join_code) <= set(JOIN_ALPHABET)
    assert f"/join {join_code}" in "\n".join(lines)
    # Read the modules back from the picture and compare with the QR matrix of the link.
    expected = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    expected.add_data(link)
    expected.make(fit=True)
    matrix = expected.get_matrix()
    image = Image.open(out_file).convert("L")
    box = image.width // (len(matrix) + 8)
    read = [[image.getpixel((int((4 + x + 0.5) * box), int((4 + y + 0.5) * box))) < 128
             for x in range(len(matrix))] for y in range(len(matrix))]
    assert read == matrix


def test_a_commune_has_no_join_poster(database_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    main(["demo-data", "--households", "10", "--bare"])
    assert main(["qr", "DEMO-01", "--out", str(tmp_path / "x.png"), "--bot", "b_bot"]) == 1
    assert "chỉ dành cho ấp" in capsys.readouterr().err


def test_without_a_telegram_username_the_poster_shows_the_code_for_zalo(
        database_url, monkeypatch, tmp_path, capsys):
    """A deployment on Zalo alone has no Telegram link: the poster is the code and what to type."""
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    monkeypatch.delenv("BINHYEN_TELEGRAM_BOT_USERNAME", raising=False)
    main(["demo-data", "--households", "10", "--bare"])
    capsys.readouterr()
    poster = tmp_path / "poster.png"
    assert main(["qr", "DEMO-01-01", "--out", str(poster)]) == 0
    out = capsys.readouterr().out
    join_code = re.search(r"mã tham gia ([A-Z0-9]{6})$", out, re.MULTILINE).group(1)
    assert set(join_code) <= set(JOIN_ALPHABET)
    assert f"Trên Zalo, bà con gõ: /join {join_code}" in out
    assert "https://" not in out and "không có mã QR" in out
    with Image.open(poster) as image:
        assert image.format == "PNG"
        pixels = image.convert("L")
        # No QR code on top (its finder pattern would start at the border); text below.
        assert pixels.getpixel((5 * 16, 5 * 16)) == 255
        assert pixels.getextrema()[0] < 64
    # The same hamlet with a username: the QR code of the link, and the same code.
    assert main(["qr", "DEMO-01-01", "--out", str(tmp_path / "qr.png"), "--bot", "binhyen_demo_bot"]) == 0
    assert f"https://t.me/binhyen_demo_bot?start=j_{join_code}" in capsys.readouterr().out


def test_a_missing_folder_or_a_wrong_bot_name_is_said_clearly(database_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    main(["demo-data", "--households", "10", "--bare"])
    capsys.readouterr()
    assert main(["qr", "DEMO-01-01", "--out", "/nonexistent/x.png", "--bot", "binhyen_bot"]) == 2
    assert "Không có thư mục /nonexistent" in capsys.readouterr().err
    assert main(["qr", "DEMO-01-01", "--out", str(tmp_path), "--bot", "binhyen_bot"]) == 1  # a folder
    assert "Không lưu được mã QR" in capsys.readouterr().err
    for name in ("https://t.me/binhyen_bot", "binhyen", "bot", "9binhyen_bot", "bình_yên_bot", "b" * 31 + "bot"):
        assert main(["qr", "DEMO-01-01", "--out", str(tmp_path / "x.png"), "--bot", name]) == 2, name
        assert "không phải tên bot Telegram" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
    assert main(["qr", "DEMO-01-01", "--out", str(tmp_path / "x.png"), "--bot", "@BinhYenBot"]) == 0
    assert (tmp_path / "x.png").exists()


async def test_every_hamlet_gets_a_distinct_join_code(session):
    places = await tree(session)
    codes = {places.h11.join_code, places.h12.join_code, places.h21.join_code}
    assert len(codes) == 3 and None not in codes
    assert places.c1.join_code is None


def test_the_migration_gives_hamlets_made_before_it_a_join_code(empty_database_url):
    async def run():
        engine = make_engine(empty_database_url)
        try:
            await upgrade(engine, "0001")
            async with engine.begin() as connection:
                await connection.execute(text(
                    "INSERT INTO areas (id, code, name, level, path, depth) VALUES "
                    "(1, 'P', 'Tỉnh', 'province', '/1/', 0), (2, 'H', 'Ấp', 'hamlet', '/1/2/', 1)"))
            await upgrade(engine)
            async with engine.connect() as connection:
                return dict((await connection.execute(text("SELECT code, join_code FROM areas"))).all())
        finally:
            await engine.dispose()

    codes = asyncio.run(run())
    assert codes["P"] is None and len(codes["H"]) == 6
