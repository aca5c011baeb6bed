"""Every route of the desk tried by every role, in and out of its scope (like the chat's matrix).

The roles: no session, the hamlet head of H11, the officer of commune C1, an admin scoped to C1.
"In" targets lie in H11 (or C1), "out" ones in H21 (commune C2). Outcomes: ALLOWED, SIGN_IN
(sent to the page that explains how to get a link), ROLE (403) or SCOPE (404: not within the
scope). A refused case writes nothing; an allowed case that writes must write. A route added
to the desk without a row here fails test_every_route_is_in_the_matrix.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import delete, select

from db.models import (
    Area,
    Broadcast,
    Campaign,
    Member,
    Milestone,
    Recognition,
    RecognitionCriterion,
)
from db.services.areas import add_area
from db.services.members import grant_role
from db.services.milestones import ReminderSpec, add_milestone, add_reminder
from db.services.tip_sealing import TipKeys
from db.services.tips import TipDraft, submit_tip
from desk.access import ROLES_KEY
from testkit.arrange import tree
from testkit.delivery_fakes import TZ, FakeClock, local
from testkit.desk import start_desk
from testkit.hostile import OFFICERS_KEY, TIP_SECRET, changes, snapshot, tips_on
from testkit.movement import add_model, recognitions

SERIAL = itertools.count(1)
ALLOWED, SIGN_IN, ROLE, SCOPE = "allowed", "sign in", "refused by role", "refused by scope"
NOBODY, HEAD, OFFICER, ADMIN, OFFICER_C2 = "none", "810001", "810002", "810003", "810009"
USERS = (NOBODY, HEAD, OFFICER, ADMIN)
STAFF = {NOBODY: (SIGN_IN, SIGN_IN), HEAD: (ALLOWED, SCOPE), OFFICER: (ALLOWED, SCOPE), ADMIN: (ALLOWED, SCOPE)}
STAFF_ANY = {**STAFF, HEAD: (ALLOWED, ALLOWED), OFFICER: (ALLOWED, ALLOWED), ADMIN: (ALLOWED, ALLOWED)}
OFFICERS = {**STAFF, HEAD: (ROLE, ROLE)}
OFFICERS_ANY = {**STAFF_ANY, HEAD: (ROLE, ROLE)}
ADMINS = {NOBODY: (SIGN_IN, SIGN_IN), HEAD: (ROLE, ROLE), OFFICER: (ROLE, ROLE), ADMIN: (ALLOWED, ALLOWED)}


@dataclass
class Case:
    """One route: how to call it on a target, who gets what, and what an allowed call writes."""

    route: str
    method: str
    path: str
    outcomes: dict[str, tuple[str, str]]
    data: Callable[[dict], dict] | None = None
    wrote: str | None = None  # a table an allowed call inserts into or updates
    hides: str | None = None  # a listing: the out-of-scope target's marker must not show


MATRIX = [
    Case("overview", "GET", "/area/{hamlet}", STAFF),
    Case("chart", "GET", "/area/{hamlet}/chart.svg", STAFF),
    Case("export", "GET", "/area/{hamlet}/export.csv", STAFF),
    Case("hamlet", "GET", "/hamlet/{hamlet}", STAFF),
    Case("hamlet-export", "GET", "/hamlet/{hamlet}/export.csv?show=unpledged", STAFF),
    Case("broadcasts", "GET", "/broadcasts", STAFF_ANY, hides="broadcast-{broadcast_id}\""),
    Case("broadcast-new", "GET", "/broadcasts/new", STAFF_ANY),
    Case("broadcast-recipients", "GET", "/broadcasts/recipients?area={hamlet}&audience=all", STAFF),
    Case("broadcast-create", "POST", "/broadcasts", STAFF,
         data=lambda t: {"area": t["hamlet"], "audience": "all", "text": "Họp tổ tự quản tối nay."},
         wrote="broadcasts"),
    Case("broadcast-cancel", "POST", "/broadcasts/{broadcast_id}/cancel", STAFF, wrote="broadcasts"),
    Case("calendar-start", "GET", "/calendar", OFFICERS_ANY),
    Case("calendar", "GET", "/calendar/{hamlet}", OFFICERS),
    Case("milestone-add", "POST", "/calendar/{hamlet}/milestones", OFFICERS,
         data=lambda t: {"kind": "custom", "title": "Họp dân", "day": "2026-09-15", "year": "2026"},
         wrote="milestones"),
    Case("reminder-add", "POST", "/calendar/{hamlet}/reminders", OFFICERS,
         data=lambda t: {"milestone": str(t["milestone_id"]), "days": "2", "at": "08:00", "audience": "all"},
         wrote="reminders"),
    Case("reminder-remove", "POST", "/reminders/{reminder_id}/remove", OFFICERS, wrote="reminders"),
    Case("tips", "GET", "/tips", OFFICERS_ANY, hides="/tips/{tip_id}\""),
    Case("tip", "GET", "/tips/{tip_id}", OFFICERS),
    Case("tip-sealed", "GET", "/tips/{tip_id}/sealed", OFFICERS),
    Case("tip-status", "POST", "/tips/{tip_id}/status", OFFICERS, data=lambda t: {"status": "checking"},
         wrote="tips"),
    Case("tip-reply", "POST", "/tips/{tip_id}/reply", OFFICERS, data=lambda t: {"text": "Công an đã nhận tin."},
         wrote="tip_entries"),
    Case("recognition-start", "GET", "/recognition", STAFF_ANY),
    Case("recognition", "GET", "/recognition/{hamlet}", STAFF),
    Case("recognition-unit", "GET", "/recognition/area/{hamlet_id}", STAFF),
    Case("recognition-register", "POST", "/recognition/area/{fresh_id}/register", OFFICERS,
         data=lambda t: {"year": "2026"}, wrote="recognitions"),
    Case("recognition-step", "POST", "/recognitions/{registered_id}/step", OFFICERS,
         data=lambda t: {"status": "self_assessed"}, wrote="recognitions"),
    Case("recognition-tick", "POST", "/recognitions/{registered_id}/criteria/{criterion_id}", OFFICERS,
         data=lambda t: {"met": "1", "note": "Biên bản họp ấp"}, wrote="criterion_checks"),
    Case("recognition-decide", "POST", "/recognitions/{proposed_id}/decision", OFFICERS,
         data=lambda t: {"result": "failed", "number": "5/QĐ-UBND", "day": "2026-08-10"}, wrote="recognitions"),
    Case("models-start", "GET", "/models", STAFF_ANY),
    Case("models", "GET", "/models/{hamlet}", STAFF),
    Case("model-add", "POST", "/models/{hamlet}", OFFICERS,
         data=lambda t: {"unit": t["hamlet"], "type": str(t["type_id"]), "name": "Tổ tự quản số 9"},
         wrote="movement_models"),
    Case("model-review", "POST", "/models/{model_id}/review", OFFICERS,
         data=lambda t: {"status": "effective", "groups": "1", "sites": "1", "members": "9"},
         wrote="movement_models"),
    Case("audit", "GET", "/audit", ADMINS),
]
# Routes every signed-in member uses the same way, tested in test_login.py.
ENTRY = {"home", "login-page", "login-post", "logout", "language", "static"}


@pytest.fixture
def settings(database_url):
    return tips_on(database_url)


@pytest.fixture
async def arranged(app, session):
    app.dispatcher["clock"] = FakeClock(local(2026, 8, 10, 9, 0))
    world = await tree(session, year=2026)
    await grant_role(session, "telegram", HEAD, "hamlet_head", "H11")
    await grant_role(session, "telegram", OFFICER, "officer", "C1")
    await grant_role(session, "telegram", ADMIN, "admin", "C1")
    await grant_role(session, "telegram", OFFICER_C2, "officer", "C2")
    await session.commit()
    return world


@pytest.fixture
async def browsers(app, arranged):
    first = await start_desk(app)
    browsers = {NOBODY: first}
    for user in (HEAD, OFFICER, ADMIN):
        browsers[user] = first.browser()
        await browsers[user].login("telegram", user)
    yield browsers
    for browser in browsers.values():
        await browser.close()
    await first.server.close()


async def target(session, world, scope: str) -> dict[str, Any]:
    """A fresh broadcast, tip, milestone, reminder, recognitions and model in H11 or C1 ("in"),
    or in H21 or C2 ("out")."""
    codes = ("H11", "C1") if scope == "in" else ("H21", "C2")
    hamlet, commune = [await session.scalar(select(Area).where(Area.code == code)) for code in codes]
    sender = HEAD if scope == "in" else OFFICER_C2
    sender_id = await session.scalar(select(Member.id).where(Member.user_id == sender))
    broadcast = Broadcast(sender_id=sender_id, area_id=hamlet.id, audience="all", text="Họp tổ.",
                          status="scheduled", send_at=local(2026, 8, 20, 8, 0))
    session.add(broadcast)
    tip, _code = await submit_tip(session, TipKeys(OFFICERS_KEY.public_key, TIP_SECRET.encode()),
                                  TipDraft("theft", hamlet.id, "Mất trộm xe."), [])
    campaign = await session.scalar(select(Campaign))
    await session.execute(delete(Milestone).where(Milestone.kind != "custom"))
    milestone, _new = await add_milestone(session, campaign, commune, "custom", local(2026, 9, 1, 0, 0).date(),
                                          "Mốc", TZ, None)
    reminder = await add_reminder(session, milestone, hamlet, ReminderSpec.parse("1d"), None, None,
                                  local(2026, 8, 10, 9, 0), TZ, None)
    # Fresh hamlets of the commune: one not registered, one registered, one proposed; a model.
    fresh = [await add_area(session, f"{commune.code}-{next(SERIAL)}", "Ấp mới", "hamlet", commune) for _n in range(3)]
    await recognitions(session, campaign, [fresh[1]])
    await recognitions(session, campaign, [fresh[2]], status="proposed")
    registered, proposed = [await session.scalar(select(Recognition.id).where(Recognition.area_id == area.id))
                            for area in fresh[1:]]
    criterion = await session.scalar(select(RecognitionCriterion.id).where(
        RecognitionCriterion.unit_kind == "hamlet", RecognitionCriterion.rule.is_(None)))
    model = await add_model(session, "Tổ tự quản", area=hamlet)
    await session.commit()
    return {"hamlet": hamlet.code, "broadcast_id": broadcast.id, "tip_id": tip.id,
            "milestone_id": milestone.id, "reminder_id": reminder.id, "hamlet_id": hamlet.id,
            "fresh_id": fresh[0].id, "registered_id": registered, "proposed_id": proposed,
            "criterion_id": criterion, "model_id": model.id, "type_id": model.type_id}


async def outcome(answer, browser) -> str:
    text = await answer.text()
    if answer.status == 303 and answer.headers["Location"] == browser.path("/"):
        return SIGN_IN
    if answer.status == 403:
        return ROLE
    if answer.status == 404 or (answer.status == 400 and "ngoài phạm vi" in text) or "được phép" in text:
        return SCOPE
    if answer.status in (200, 303):
        return ALLOWED
    return f"status {answer.status}: {text[:200]}"


def page_routes() -> dict[str, object]:
    """Every named route the desk registers, with its handler."""
    from aiohttp import web

    from desk.pages import register

    probe = web.Application()
    register(probe)
    return {route.name: route.handler for route in probe.router.routes() if route.name}


def test_every_route_is_in_the_matrix():
    assert set(page_routes()) - ENTRY == {case.route for case in MATRIX}


def test_every_page_route_declares_its_roles():
    undeclared = {name for name, handler in page_routes().items()
                  if name not in ENTRY - {"logout", "language"} and not hasattr(handler, ROLES_KEY)}
    assert not undeclared


@pytest.mark.parametrize("case", MATRIX, ids=[case.route for case in MATRIX])
async def test_each_role_in_and_out_of_scope_gets_the_outcome_of_the_matrix(case, browsers, session, arranged):
    wrong = []
    for user in USERS:
        for scope, expected in zip(("in", "out"), case.outcomes[user]):
            aimed = await target(session, arranged, scope)
            browser = browsers[user]
            path = case.path.format(**aimed)
            before = await snapshot(session)
            if case.method == "GET":
                answer = await browser.get(path)
            else:
                data = case.data(aimed) if case.data else {}
                answer = await browser.post(path, data, csrf=await browser.csrf() if user != NOBODY else "x")
            got = await outcome(answer, browser)
            if case.method == "POST" and user == NOBODY:
                # Without a session a POST carries no valid CSRF token: refused (403) before anything.
                expected = ROLE
            found = [c for c in changes(before, await snapshot(session))
                     if c.table not in ("desk_sessions", "audit_log")]
            cell = f"{user} {scope}: expected {expected}, got {got}"
            if got != expected:
                wrong.append(cell)
            elif expected != ALLOWED and found:
                wrong.append(f"{cell} but wrote {[(c.table, c.key) for c in found]}")
            elif expected == ALLOWED and case.wrote and not any(c.table == case.wrote for c in found):
                wrong.append(f"{cell} but wrote nothing")
            elif case.hides and scope == "out" and expected == ALLOWED:
                if case.hides.format(**aimed) in await answer.text():
                    wrong.append(f"{cell} but listed what lies outside the scope")
    assert not wrong, "\n".join(wrong)
