"""The hamlet head's lists of households not pledged and not reached, paginated, within scope."""

import pytest

from db.models import Pledge, Reading
from db.services.members import grant_role
from testkit.arrange import add_households, tree


@pytest.fixture
async def hamlet(session):
    """H11 with 25 households: H001 pledged, H002 reached; a head for H11 (user 3003)."""
    places = await tree(session)
    await add_households(session, places.h11, [f"Chủ Hộ {n}" for n in range(20)], prefix="X")
    first, second = places.households["H11"][:2]
    session.add(Pledge(household_id=first.id, campaign_id=places.campaign.id, status="confirmed",
                       pledge_version="2026.1", locale="vi", confirmed_by_role="resident"))
    session.add(Reading(household_id=second.id, campaign_id=places.campaign.id,
                        article_id="to-giac-toi-pham", article_version="1"))
    await grant_role(session, "telegram", "3003", "hamlet_head", "H11")
    await grant_role(session, "telegram", "4004", "officer", "C2")
    await grant_role(session, "telegram", "4005", "officer", "C1")
    await session.commit()
    return places


async def test_the_head_sees_the_counts_and_both_lists(chat, hamlet):
    [summary] = await chat.send("/households", user_id=3003)
    assert "25 hộ" in summary
    assert "Đã ký cam kết: 1/25. Đã được tuyên truyền: 1/25." in summary
    h11 = hamlet.h11.id
    assert chat.buttons(3003) == [f"hl:unpledged:{h11}:0", f"hl:unreached:{h11}:0"]
    [page] = await chat.press(f"hl:unpledged:{h11}:0", user_id=3003)
    assert "24 hộ, trang 1/3" in page and "H001" not in page and "H002 — Trần Thị Bích" in page
    assert chat.buttons(3003) == [f"hl:unpledged:{h11}:1"]
    [page] = await chat.press(f"hl:unpledged:{h11}:2", user_id=3003, forged=True)
    assert "trang 3/3" in page and [line[:4] for line in page.splitlines() if line.startswith("X")] == ["X017", "X018", "X019", "X020"]
    [page] = await chat.press(f"hl:unreached:{h11}:0", user_id=3003, forged=True)
    assert "H002" not in page and "H001 — Nguyễn Văn An" in page
    # A page past the end (forged, or the list shrank since) shows the last page.
    [page] = await chat.press(f"hl:unpledged:{h11}:99", user_id=3003, forged=True)
    assert "trang 3/3" in page and "X020" in page
    assert chat.buttons(3003) == [f"hl:unpledged:{h11}:1"]


async def test_approve_says_how_many_more_wait_beyond_the_first_twenty(chat, session, hamlet):
    from db.models import Household

    for number in range(23):
        session.add(Household(hamlet_id=hamlet.h11.id, code=f"DK{number + 1:04d}", head_name=f"Hộ Mới {number}",
                              head_name_key=f"ho moi {number}", address="Tổ 1", size=2, status="pending"))
    await session.commit()
    replies = await chat.send("/approve", user_id=3003)
    assert len(replies) == 21
    assert "Có 23 hộ chờ duyệt; dưới đây là 20 hộ đầu" in replies[0] and "3 hộ còn lại" in replies[0]
    assert "/approve H11" in replies[0]
    assert "DK0020" in replies[-1] and len(chat.buttons(3003)) == 2


async def test_a_resident_and_an_officer_of_another_commune_are_refused(chat, hamlet):
    [reply] = await chat.send("/households", user_id=1001)
    assert "chưa có quyền" in reply
    # The button is refused with an alert (the only thing sent), and no list is shown.
    [reply] = await chat.press(f"hl:unpledged:{hamlet.h11.id}:0", user_id=1001, forged=True)
    assert "chưa có quyền" in reply and "Hộ chưa ký cam kết" not in reply
    answers = [r for r in chat.session.requests if type(r).__name__ == "AnswerCallbackQuery"]
    assert "chưa có quyền" in answers[-1].text and answers[-1].show_alert
    [reply] = await chat.send("/households H11", user_id=4004)
    assert "ngoài phạm vi" in reply
    [reply] = await chat.press(f"hl:unpledged:{hamlet.h11.id}:0", user_id=4004, forged=True)
    assert "ngoài phạm vi" in reply


async def test_an_officer_picks_a_hamlet_of_the_commune(chat, hamlet):
    [reply] = await chat.send("/households", user_id=4005)
    assert chat.buttons(4005) == [f"hl:h:{hamlet.h11.id}", f"hl:h:{hamlet.h12.id}"]
    [summary] = await chat.press(f"hl:h:{hamlet.h11.id}", user_id=4005)
    assert "Ấp Bình Long" in summary
    [summary] = await chat.send("/households h12", user_id=4005)
    assert "Ấp Tân Phú" in summary and "0 hộ" in summary
