"""The officer's lists of the movement (/orgs, /models, /recognition) go a page of 10 at a time,
with ◀ / ▶ buttons that show the next and the previous page."""

import pytest

from db.services.members import grant_role
from testkit.arrange import tree
from testkit.movement import add_model, add_organization

OFFICER = 7001
UNITS = 12


@pytest.fixture
async def commune(session):
    places = await tree(session)
    for number in range(UNITS):
        organization = await add_organization(session, places.c1, f"U{number:02}", f"Trường số {number:02}",
                                              "school")
        await add_model(session, f"Mô hình số {number:02}", organization=organization)
    await grant_role(session, "telegram", str(OFFICER), "officer", "C1")
    await session.commit()
    return places.c1


@pytest.mark.parametrize(("command", "prefix"), [("/orgs", "odp"), ("/models", "mp"), ("/recognition", "rl")])
async def test_the_lists_turn_pages_both_ways(chat, commune, command, prefix):
    [first] = await chat.send(command, user_id=OFFICER)
    assert "1/2" in first and "2/2" not in first
    [second] = await chat.press(f"{prefix}:{commune.id}:1", user_id=OFFICER)  # ▶, offered on page 1
    assert "2/2" in second
    [again] = await chat.press(f"{prefix}:{commune.id}:0", user_id=OFFICER)  # ◀, offered on page 2
    assert "1/2" in again
