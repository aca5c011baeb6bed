"""The desk in a real headless Chromium (Debian's package, driven by Playwright's async API):
logging in with a link, the link refused a second time, drilling down from the province to a
hamlet, an export, a broadcast composed with its live recipient count, a tip sealed by the bot
opened in the browser with the key file, another commune's tip refused, a hamlet's recognition
checklist ticked and the model registry added to and reviewed by a commune officer, and the
hamlet head who sees them without edit controls and whose POST is refused.

Skipped with the reason where chromium is missing, except in CI (CI=true), where they must run.
BINHYEN_SCREENSHOTS=docs/screenshots (make screenshots) keeps the screenshots for the README."""

import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from db.models import Area, Broadcast, Campaign, CriterionCheck, ModelType, MovementModel, Recognition
from db.services.members import grant_role
from db.services.tip_photos import clean_photo
from db.services.tip_sealing import TipKeys, write_private_key
from db.services.tips import TipDraft, submit_tip
from testkit.arrange import tree
from testkit.delivery_fakes import FakeClock, local
from testkit.desk import start_desk
from testkit.hostile import OFFICERS_KEY, TIP_SECRET, tips_on

CHROMIUM = os.environ.get("BINHYEN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ADMIN, OFFICER, HEAD = "820001", "820002", "820003"
WAIT_MS = 20_000


def _browser_missing() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        return f"no chromium at {CHROMIUM} (apt-get install chromium)"
    return None


missing = _browser_missing()
if missing and os.environ.get("CI") == "true":
    raise RuntimeError(f"CI runs the browser tests: {missing}")
pytestmark = [pytest.mark.skipif(missing is not None, reason=missing or ""), pytest.mark.timeout(180)]


@pytest.fixture
def backend() -> str:
    """One backend is enough for the browser: the routes run on both in the other tests."""
    return "sqlite"


@pytest.fixture
def settings(database_url):
    return tips_on(database_url)


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("BINHYEN_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
async def desk(app, session):
    app.dispatcher["clock"] = FakeClock(local(2026, 8, 10, 9, 0))
    await tree(session, year=2026)
    await grant_role(session, "telegram", ADMIN, "admin", "P")
    await grant_role(session, "telegram", OFFICER, "officer", "C1")
    await session.commit()
    desk = await start_desk(app)
    yield desk
    await desk.close()
    await desk.server.close()


@pytest.fixture
async def page():
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(locale="vi-VN", viewport={"width": 1100, "height": 900},
                                            accept_downloads=True)
        context.set_default_timeout(WAIT_MS)
        page = await context.new_page()
        yield page
        await browser.close()


async def log_in(page, desk, user: str) -> None:
    await page.goto(desk.origin + desk.path(await desk.link_for("telegram", user)))
    await page.click("#login")
    await page.wait_for_selector("#logout")


async def test_a_link_logs_in_once_and_is_refused_the_second_time(desk, page, shots):
    link = desk.origin + desk.path(await desk.link_for("telegram", ADMIN))
    await page.goto(link)
    await page.screenshot(path=shots / "login.png")
    await page.click("#login")
    await page.wait_for_selector("h1:has-text('Tỉnh Thử')")
    for _attempt in range(2):
        other = await page.context.browser.new_context()
        stranger = await other.new_page()
        await stranger.goto(link)
        assert await stranger.locator("#link-refused").is_visible()
        assert await stranger.locator("#login").count() == 0
        await other.close()


async def test_drill_down_from_the_province_to_a_hamlet_and_export(desk, page, shots):
    await log_in(page, desk, ADMIN)
    await page.wait_for_selector("table.targets")
    chart = page.locator("img.chart")
    await page.wait_for_load_state("load")
    assert await chart.evaluate("img => img.complete && img.naturalWidth > 0")
    await page.screenshot(path=shots / "overview.png", full_page=True)
    await page.click("table.children a:text('Xã Tân Hòa')")
    await page.wait_for_selector("h1:has-text('Xã Tân Hòa')")
    assert "Tỉnh Thử" in await page.inner_text("nav.trail")
    await page.click("table.children a:text('Ấp Bình Long')")
    await page.wait_for_selector("h1:has-text('Ấp Bình Long')")
    assert "Nguyễn Văn An" in await page.inner_text("table.households")
    await page.click("nav.filters a:text('Chưa ký cam kết')")
    await page.wait_for_url("**show=unpledged**")
    await page.screenshot(path=shots / "households.png", full_page=True)
    await page.go_back()
    await page.go_back()
    async with page.expect_download() as waiting:
        await page.click("section.exports a:text('XLSX')")
    download = await waiting.value
    body = Path(await download.path()).read_bytes()
    assert zipfile.is_zipfile(io.BytesIO(body)) and download.suggested_filename.endswith(".xlsx")


async def test_compose_a_broadcast_with_the_live_recipient_count(desk, page, session, shots):
    await log_in(page, desk, OFFICER)
    await page.click("nav a:text('Thông báo')")
    await page.click("a:text('Soạn thông báo')")
    await page.wait_for_selector("#recipients:has-text('người sẽ nhận')")
    await page.select_option("#area", "H11")
    await page.select_option("#audience", "heads")
    await page.wait_for_selector("#recipients:has-text('0 người sẽ nhận')")
    await page.select_option("#audience", "all")
    await page.fill("#text", "Họp tổ tự quản lúc 19 giờ tối nay tại nhà văn hóa ấp.")
    await page.screenshot(path=shots / "broadcast.png", full_page=True)
    await page.click("#send")
    await page.wait_for_selector("#created")
    await session.rollback()
    assert await session.scalar(select(func.count(Broadcast.id))) == 1


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, format="JPEG")
    return clean_photo(buffer.getvalue())


async def test_a_tip_sealed_by_the_bot_opens_in_the_browser_with_the_key_file(desk, page, session, tmp_path, shots):
    from sqlalchemy import select as sql_select

    from db.models import Area

    keys = TipKeys(OFFICERS_KEY.public_key, TIP_SECRET.encode())
    h11 = await session.scalar(sql_select(Area).where(Area.code == "H11"))
    h21 = await session.scalar(sql_select(Area).where(Area.code == "H21"))
    tip, _code = await submit_tip(session, keys, TipDraft("drugs", h11.id, "Có người bán ma túy ở bến đò.",
                                                          when_choice="today", place="Bến đò Bình Long"), [_photo()])
    other, _code = await submit_tip(session, keys, TipDraft("theft", h21.id, "Mất trộm bò."), [])
    await session.commit()
    key_file = tmp_path / "keys" / "tip_private.key"
    write_private_key(key_file, OFFICERS_KEY)
    await log_in(page, desk, OFFICER)
    await page.click("nav a:text('Tin báo')")
    await page.click(f"a[href$='/tips/{tip.id}']")
    await page.wait_for_selector("#unseal[data-ready='yes']")
    # The page holds only ciphertext until the key is picked.
    assert "bến đò" not in await page.content()
    await page.set_input_files("#key-file", str(key_file))
    await page.wait_for_selector("#unseal[data-opened='yes']")
    assert await page.inner_text("#tip-text") == "Có người bán ma túy ở bến đò."
    assert "Bến đò Bình Long" in await page.inner_text("#tip-facts")
    assert await page.locator("#tip-photos img").count() == 1
    await page.screenshot(path=shots / "tip.png", full_page=True)
    # Another commune's tip: refused, nothing to open.
    answer = await page.goto(desk.origin + desk.path(f"/tips/{other.id}"))
    assert answer.status == 404
    assert await page.locator("#unseal").count() == 0
    sealed = await page.goto(desk.origin + desk.path(f"/tips/{other.id}/sealed"))
    assert sealed.status == 404


async def test_a_wrong_key_file_opens_nothing(desk, page, session, tmp_path):
    from nacl.public import PrivateKey
    from sqlalchemy import select as sql_select

    from db.models import Area

    keys = TipKeys(OFFICERS_KEY.public_key, TIP_SECRET.encode())
    h11 = await session.scalar(sql_select(Area).where(Area.code == "H11"))
    tip, _code = await submit_tip(session, keys, TipDraft("theft", h11.id, "Mất trộm xe máy."), [])
    await session.commit()
    wrong = tmp_path / "wrong" / "tip_private.key"
    write_private_key(wrong, PrivateKey.generate())
    await log_in(page, desk, OFFICER)
    await page.goto(desk.origin + desk.path(f"/tips/{tip.id}"))
    await page.wait_for_selector("#unseal[data-ready='yes']")
    await page.set_input_files("#key-file", str(wrong))
    await page.wait_for_selector("#unseal-error:not([hidden])")
    assert "không mở được" in await page.inner_text("#unseal-error")
    assert await page.inner_text("#tip-text") == ""


async def test_an_officer_ticks_a_checklist_and_keeps_the_model_registry(desk, page, session, shots):
    h11 = await session.scalar(select(Area.id).where(Area.code == "H11"))
    await log_in(page, desk, OFFICER)
    await page.click("nav a:text('Công nhận')")
    await page.wait_for_selector("table.recognition")
    await page.screenshot(path=shots / "recognition.png", full_page=True)
    await page.click(f"#unit-area-{h11} a")
    await page.wait_for_selector("h1:has-text('Ấp Bình Long')")
    await page.click("#register")
    await page.wait_for_selector("table.checklist form")
    row = page.locator("table.checklist tr:has(form)").first
    number = (await row.get_attribute("id")).removeprefix("criterion-")
    await row.locator("input[name=note]").fill("Biên bản họp ấp ngày 05/08")
    await row.locator("button[value='1']").click()
    await page.wait_for_selector(f"#criterion-{number}:has-text('Biên bản họp ấp ngày 05/08')")
    assert "đạt" in await page.inner_text(f"#criterion-{number}")
    await page.screenshot(path=shots / "recognition-unit.png", full_page=True)
    await session.rollback()
    recognition = await session.scalar(select(Recognition).where(Recognition.area_id == h11))
    assert recognition.status == "registered"
    check = await session.scalar(select(CriterionCheck).where(CriterionCheck.recognition_id == recognition.id))
    assert (check.met, check.note, check.checked_by_role) == (True, "Biên bản họp ấp ngày 05/08", "officer")

    await page.click("nav a:text('Mô hình')")
    await page.wait_for_selector("#add-model")
    await page.fill("#unit", "H11")
    model_type = await session.scalar(select(ModelType.id).where(ModelType.code == "to-nhan-dan-tu-quan"))
    await page.select_option("#type", str(model_type))
    await page.fill("#name", "Tổ tự quản số 3")
    await page.fill("#groups", "3")
    await page.fill("#members", "40")
    await page.click("#add-model")
    await page.wait_for_selector("table.models td:text('Tổ tự quản số 3')")
    await session.rollback()
    model = await session.scalar(select(MovementModel))
    assert (model.name, model.area_id, model.groups, model.members, model.status) == (
        "Tổ tự quản số 3", h11, 3, 40, "active")
    review = page.locator(f"#model-{model.id} + tr.review form")
    await review.locator("select[name=status]").select_option("effective")
    await review.locator("input[name=members]").fill("52")
    await review.locator("button").click()
    await page.wait_for_selector(f"#model-{model.id}:has-text('10/08/2026')")
    await page.screenshot(path=shots / "models.png", full_page=True)
    await session.rollback()
    model = await session.scalar(select(MovementModel))
    assert (model.status, model.members, model.reviewed_on.isoformat()) == ("effective", 52, "2026-08-10")


async def test_the_hamlet_head_sees_no_edit_controls_and_a_post_is_refused(desk, page, session):
    from testkit.movement import add_model, recognitions

    h11 = await session.scalar(select(Area).where(Area.code == "H11"))
    h11_id = h11.id
    campaign = await session.scalar(select(Campaign))
    await recognitions(session, campaign, [h11], status="proposed")
    model = await add_model(session, "Tổ tự quản số 1", area=h11)
    model_id = model.id
    await grant_role(session, "telegram", HEAD, "hamlet_head", "H11")
    await session.commit()
    recognition_id = await session.scalar(select(Recognition.id).where(Recognition.area_id == h11_id))
    await log_in(page, desk, HEAD)
    await page.click("nav a:text('Công nhận')")
    await page.click(f"#unit-area-{h11_id} a")
    await page.wait_for_selector("table.checklist")
    assert await page.locator("main form, #register, #step, #passed").count() == 0
    assert "Còn thiếu" in await page.inner_text("main")
    await page.click("nav a:text('Mô hình')")
    await page.wait_for_selector(f"#model-{model_id}")
    assert await page.locator("main form, #add-model, tr.review").count() == 0
    # The same request an officer's form sends, with this session's CSRF token and origin: refused.
    csrf = await page.locator("input[name=csrf]").first.input_value()
    answer = await page.request.post(desk.origin + desk.path(f"/recognitions/{recognition_id}/decision"),
                                     form={"csrf": csrf, "result": "failed", "number": "1/QĐ", "day": "2026-08-10"}, headers={"Origin": desk.origin},
                                     max_redirects=0)
    assert answer.status == 403 and "chưa có quyền này" in await answer.text()  # the role, not the CSRF check
    answer = await page.request.post(desk.origin + desk.path(f"/models/{model_id}/review"),
                                     form={"csrf": csrf, "status": "formal", "groups": "0", "sites": "0",
                                           "members": "0"}, headers={"Origin": desk.origin}, max_redirects=0)
    assert answer.status == 403 and "chưa có quyền này" in await answer.text()
    await session.rollback()
    assert await session.scalar(select(Recognition.status).where(Recognition.id == recognition_id)) == "proposed"
    assert await session.scalar(select(MovementModel.status).where(MovementModel.id == model_id)) == "active"
    assert await session.scalar(select(func.count(CriterionCheck.id))) == 0
