"""Every staff command and button tried by every role, in and out of its scope (issue 8, point 4).

MATRIX is the table: a case per command of base/commands.py and per staff handler (a
handler registered with role flags), with the outcome each role gets on a target within its
scope ("in") and outside it ("out"): ALLOWED, ROLE (refused for the role) or SCOPE (refused
for the area). A refused case must change nothing; an allowed case that writes must write.
Adding a command or a staff handler without a row here fails
test_every_command_and_staff_handler_is_in_the_matrix.

The roles: someone unregistered, a resident of a household in H11, the hamlet head of H11, the
officer of commune C1 and an admin scoped to C1. "In" targets lie in H11 (or C1), "out" ones in
H21, in commune C2.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import delete, select

import handlers
from base.commands import COMMANDS, ROLES_FLAG
from db.models import (
    Area,
    Broadcast,
    Campaign,
    CriterionCheck,
    Household,
    Member,
    Milestone,
    Recognition,
    RecognitionCriterion,
)
from db.services.members import grant_role
from db.services.milestones import ReminderSpec, add_milestone, add_reminder
from db.services.tip_sealing import TipKeys
from db.services.tips import TipDraft, submit_tip
from handlers.broadcasts.compose import BroadcastForm
from handlers.campaign.calendar import CampaignForm
from handlers.movement.models import ModelForm
from handlers.movement.recognition import RecognitionForm
from handlers.tips.inbox import Triage
from testkit.arrange import tree
from testkit.delivery_fakes import TZ, FakeClock, local
from testkit.hostile import OFFICERS_KEY, TIP_SECRET, changes, snapshot, tips_on
from testkit.movement import add_model, add_organization, recognitions, registrations

ALLOWED, ROLE, SCOPE = "allowed", "refused by role", "refused by scope"
# A handler that failed: the error handler (bot/errors.py) logged it and apologised. Never an
# expected outcome: an allowed command that crashes is not allowed, it is broken.
CRASHED = "crashed"
APOLOGY = "Bình Yên đang gặp sự cố"
UNREGISTERED, RESIDENT, HEAD, OFFICER, ADMIN = 700001, 700002, 700003, 700004, 700005
OFFICER_C2 = 700009
ROLES = {UNREGISTERED: "unregistered", RESIDENT: "resident", HEAD: "hamlet_head", OFFICER: "officer",
         ADMIN: "admin"}
ROLE_REFUSALS = ("chưa có quyền", "Chỉ công an xã, phường và quản trị")
SCOPE_REFUSALS = ("ngoài phạm vi", "được phép hủy", "được phép xóa", "không thuộc địa bàn",
                  "không thuộc phạm vi")

# Who may do what: anyone; hamlet heads, officers and admins; officers and admins.
EVERYONE = {user: (ALLOWED, ALLOWED) for user in ROLES}
STAFF = {UNREGISTERED: (ROLE, ROLE), RESIDENT: (ROLE, ROLE), HEAD: (ALLOWED, SCOPE),
         OFFICER: (ALLOWED, SCOPE), ADMIN: (ALLOWED, SCOPE)}
OFFICERS = {**STAFF, HEAD: (ROLE, ROLE)}
# Steps of a conversation whose area was chosen (within scope) when it began.
STAFF_STEP = {**STAFF, **{user: (ALLOWED, ALLOWED) for user in (HEAD, OFFICER, ADMIN)}}
OFFICER_STEP = {**STAFF_STEP, HEAD: (ROLE, ROLE)}


@dataclass
class Target:
    """What a case acts on, within the caller's scope or outside it."""

    values: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


@dataclass
class Case:
    """One row of the matrix."""

    name: str
    covers: tuple[str, ...]
    act: Callable[[Any, int, Target], Awaitable[list[str]]]
    outcomes: dict[int, tuple[str, str]]
    # The state of the conversation the case starts in, and its data.
    state: State | None = None
    data: Callable[[Target], dict] = lambda target: {}
    # For a case that writes when allowed: did the write happen? (the changes, the target)
    wrote: Callable[[list, Target], bool] | None = None
    # For a listing: True when the reply leaves out what lies outside the caller's scope.
    hides: Callable[[str, Target], bool] | None = None
    # A new tip for each try (sealing one derives a key with argon2id: slow, so only when needed).
    fresh_tip: bool = False


def send(template: str):
    async def act(chat, user: int, target: Target) -> list[str]:
        return await chat.send(template.format(**target.values), user_id=user)
    return act


def press(template: str):
    async def act(chat, user: int, target: Target) -> list[str]:
        return await chat.press(template.format(**target.values), user_id=user, forged=True)
    return act


def inserted(table: str, **values):
    """A write check: a row of `table` with these values (formatted from the target) appeared."""
    def check(found: list, target: Target) -> bool:
        wanted = {k: (v.format(**target.values) if isinstance(v, str) else v(target) if callable(v) else v)
                  for k, v in values.items()}
        return any(c.table == table and c.before is None and all(c.after[k] == v for k, v in wanted.items())
                   for c in found)
    return check


def updated(table: str, key: str, column: str, value):
    """A write check: the target's row of `table` now has `column` = `value`."""
    def check(found: list, target: Target) -> bool:
        return any(c.table == table and c.before is not None and c.after is not None
                   and c.key == (target[key],) and c.after[column] == value for c in found)
    return check


def broadcast_data(target: Target) -> dict:
    return {"area_id": target["area_id"], "text": "Họp tổ tự quản tối nay.", "audience": "all", "urgent": False}


def deleted(table: str, key: str):
    """A write check: the target's row of `table` is gone."""
    def check(found: list, target: Target) -> bool:
        return any(c.table == table and c.after is None and c.key == (target[key],) for c in found)
    return check


def campaign_data(target: Target, **extra) -> dict:
    return {"area_id": target["area_id"], "campaign_id": target["campaign_id"], **extra}


MATRIX = [
    # Commands anyone may use.
    *[Case(f"/{name}", (), send(f"/{name}"), EVERYONE)
      for name in ("start", "help", "learn", "pledge", "privacy", "forget", "language", "cancel", "tip",
                   "tipstatus", "id", "org")],
    Case("/join CODE", (), send("/join {join_code}"), EVERYONE),
    # Staff commands.
    Case("/households CODE", ("households.households_command",), send("/households {hamlet}"), STAFF),
    Case("/approve CODE", ("households.approve_command",), send("/approve {hamlet}"), STAFF),
    Case("/stats CODE", ("stats.stats",), send("/stats {hamlet}"), STAFF),
    Case("/area CODE", ("area.show_area",), send("/area {hamlet}"), STAFF),
    Case("/broadcast CODE", ("broadcast.start",), send("/broadcast {hamlet}"), STAFF),
    Case("/broadcasts", ("broadcasts.list_broadcasts",), send("/broadcasts"), STAFF,
         hides=lambda text, t: f"#{t['broadcast_id']} " not in text),
    Case("/tips", ("tip-inbox.list_open",), send("/tips"), OFFICERS,
         hides=lambda text, t: t["reference"] not in text),
    Case("/reply REF", ("tip-inbox.reply",), send("/reply {reference} Cảm ơn, công an đã nhận tin."), OFFICERS,
         wrote=inserted("tip_entries", kind="reply", tip_id=lambda t: t["tip_id"]), fresh_tip=True),
    Case("/campaign CODE", ("campaign.show",), send("/campaign {hamlet}"), OFFICERS),
    Case("/dashboard", ("dashboard.dashboard",), send("/dashboard"), STAFF_STEP, wrote=inserted("desk_links")),
    # Staff buttons: the households lists and approvals.
    Case("hl:h (a hamlet's lists)", ("households.pick_hamlet",), press("hl:h:{area_id}"), STAFF),
    Case("hl:unpledged (a list)", ("households.list_page",), press("hl:unpledged:{area_id}:0"), STAFF),
    Case("ap:h (a hamlet's approvals)", ("households.pick_pending_hamlet",), press("ap:h:{area_id}"), STAFF),
    Case("ap:y (approve)", ("households.decide",), press("ap:y:{household_id}"), STAFF,
         wrote=updated("households", "household_id", "status", "active")),
    Case("ap:n (reject)", ("households.decide",), press("ap:n:{household_id}"), STAFF,
         wrote=updated("households", "household_id", "status", "rejected")),
    # Tip triage in the officers' group.
    Case("tipo (triage)", ("tip-inbox.triage",), press("{triage}"), OFFICERS,
         wrote=updated("tips", "tip_id", "status", "checking"), fresh_tip=True),
    # /broadcasts: cancelling.
    Case("bc:drop (ask)", ("broadcasts.ask_cancel",), press("bc:drop:{broadcast_id}"), STAFF),
    Case("bc:dropok (cancel)", ("broadcasts.confirm_cancel",), press("bc:dropok:{broadcast_id}"), STAFF,
         wrote=updated("broadcasts", "broadcast_id", "status", "cancelled")),
    Case("bc:keep", ("broadcasts.keep",), press("bc:keep"), STAFF_STEP),
    # /broadcast: the area, the text, the audience, when.
    Case("bc:area (an area button)", ("broadcast.choose_area",), press("bc:area:{area_id}"), STAFF,
         state=BroadcastForm.area),
    Case("an area code typed", ("broadcast.typed_area",), send("{hamlet}"), STAFF, state=BroadcastForm.area),
    Case("the text typed", ("broadcast.typed_text",), send("Họp tổ tự quản tối nay."), STAFF_STEP,
         state=BroadcastForm.text, data=lambda t: {"area_id": t["area_id"]}),
    Case("bc:aud (audience)", ("broadcast.choose_audience",), press("bc:aud:all"), STAFF_STEP,
         state=BroadcastForm.audience, data=broadcast_data),
    Case("bc:urgent", ("broadcast.toggle_urgent",), press("bc:urgent"),
         {**STAFF_STEP, HEAD: (ROLE, ROLE)}, state=BroadcastForm.confirm, data=broadcast_data),
    Case("bc:now (send)", ("broadcast.send_now",), press("bc:now"), STAFF, state=BroadcastForm.confirm,
         data=broadcast_data, wrote=inserted("broadcasts", area_id=lambda t: t["area_id"])),
    Case("bc:at (send later)", ("broadcast.send_at",), press("bc:at:evening"), STAFF,
         state=BroadcastForm.confirm, data=broadcast_data,
         wrote=inserted("broadcasts", area_id=lambda t: t["area_id"], status="scheduled")),
    Case("a send time typed", ("broadcast.typed_when",), send("23:30"), STAFF, state=BroadcastForm.when,
         data=broadcast_data, wrote=inserted("broadcasts", area_id=lambda t: t["area_id"])),
    Case("bc:cancel", ("broadcast.cancel",), press("bc:cancel"), STAFF_STEP, state=BroadcastForm.text,
         data=lambda t: {"area_id": t["area_id"]}),
    Case("bc:art (the articles)", ("broadcast.ask_article",), press("bc:art"), STAFF_STEP,
         state=BroadcastForm.text, data=lambda t: {"area_id": t["area_id"]}),
    Case("bc:art:ID (an article)", ("broadcast.choose_article",), press("bc:art:ma-tuy"), STAFF_STEP,
         state=BroadcastForm.text, data=lambda t: {"area_id": t["area_id"]}),
    # /campaign: milestones and reminders.
    Case("cp:close", ("campaign.close",), press("cp:close"), OFFICER_STEP, state=CampaignForm.menu,
         data=campaign_data),
    Case("cp:add", ("campaign.ask_kind",), press("cp:add"), OFFICER_STEP, state=CampaignForm.menu,
         data=campaign_data),
    Case("cp:remind", ("campaign.ask_milestone",), press("cp:remind"), OFFICER_STEP, state=CampaignForm.menu,
         data=campaign_data),
    Case("cp:year (next year's calendar)", ("campaign.choose_year",), press("cp:year:2027"), OFFICER_STEP,
         state=CampaignForm.menu, data=campaign_data),
    Case("cp:rm (reminders to remove)", ("campaign.ask_removal",), press("cp:rm"), OFFICER_STEP,
         state=CampaignForm.menu, data=campaign_data),
    Case("cp:rm:ID (ask)", ("campaign.confirm_removal",), press("cp:rm:{reminder_id}"), OFFICERS,
         state=CampaignForm.menu, data=campaign_data),
    Case("cp:rmok:ID (remove)", ("campaign.remove",), press("cp:rmok:{reminder_id}"), OFFICERS,
         state=CampaignForm.menu, data=campaign_data, wrote=deleted("reminders", "reminder_id")),
    Case("cp:kind", ("campaign.choose_kind",), press("cp:kind:six_month_review"), OFFICER_STEP,
         state=CampaignForm.kind, data=campaign_data),
    Case("a milestone's title typed", ("campaign.typed_title",), send("Họp sơ kết quý"), OFFICER_STEP,
         state=CampaignForm.title, data=lambda t: campaign_data(t, kind="custom")),
    Case("cp:festival (add)", ("campaign.festival_day",), press("cp:festival"), OFFICERS,
         state=CampaignForm.day, data=lambda t: campaign_data(t, kind="festival_day"),
         wrote=inserted("milestones", area_id=lambda t: t["area_id"], kind="festival_day")),
    Case("a milestone's day typed (add)", ("campaign.typed_day",), send("01/10/2026"), OFFICERS,
         state=CampaignForm.day, data=lambda t: campaign_data(t, kind="six_month_review"),
         wrote=inserted("milestones", area_id=lambda t: t["area_id"], kind="six_month_review")),
    Case("cp:ms (a milestone)", ("campaign.choose_milestone",), press("cp:ms:{milestone_id}"), OFFICER_STEP,
         state=CampaignForm.milestone, data=campaign_data),
    Case("a reminder's days typed", ("campaign.typed_offset",), send("5"), OFFICER_STEP,
         state=CampaignForm.offset, data=lambda t: campaign_data(t, milestone_id=t["milestone_id"])),
    Case("cp:at (a time)", ("campaign.choose_time",), press("cp:at:0800"), OFFICER_STEP,
         state=CampaignForm.at, data=lambda t: campaign_data(t, milestone_id=t["milestone_id"], days=1)),
    Case("a reminder's time typed", ("campaign.typed_time",), send("08:00"), OFFICER_STEP,
         state=CampaignForm.at, data=lambda t: campaign_data(t, milestone_id=t["milestone_id"], days=1)),
    Case("cp:aud (add a reminder)", ("campaign.choose_audience",), press("cp:aud:all"), OFFICERS,
         state=CampaignForm.audience,
         data=lambda t: campaign_data(t, milestone_id=t["milestone_id"], days=1, at="08:00"),
         wrote=inserted("reminders", area_id=lambda t: t["area_id"])),
    # /orgs: agencies, enterprises and schools; their registration recorded from paper.
    Case("/orgs CODE", ("organizations.list_orgs",), send("/orgs {commune}"), OFFICERS),
    Case("odp (a page of units)", ("organizations.turn_page",), press("odp:{commune_id}:0"), OFFICERS),
    Case("od:open (a unit)", ("organizations.open_org",), press("od:open:{org_id}"), OFFICERS),
    Case("od:paper (a paper registration)", ("organizations.record_paper",), press("od:paper:{org_id}"),
         OFFICERS, wrote=inserted("organization_registrations", organization_id=lambda t: t["org_id"])),
    Case("od:withdraw (ask why)", ("organizations.ask_unit_reason",), press("od:withdraw:{org_id}"), OFFICERS),
    # /models: hamlet heads see, officers and admins add and review.
    Case("/models CODE", ("models.show_models",), send("/models {hamlet}"), STAFF),
    Case("mp (a page of models)", ("models.turn_page",), press("mp:{commune_id}:0"), OFFICERS),
    Case("mo (a model)", ("models.open_model",), press("mo:{model_id}"), OFFICERS),
    Case("mr (a review)", ("models.review",), press("mr:effective:{model_id}"), OFFICERS,
         wrote=updated("movement_models", "model_id", "status", "effective")),
    Case("a model's numbers typed", ("models.typed_review_counts",), send("2 3 30"), OFFICERS,
         state=ModelForm.review_counts, data=lambda t: {"model_id": t["model_id"]},
         wrote=updated("movement_models", "model_id", "members", 30)),
    Case("a removal's reason typed", ("models.typed_removal",), send("Không còn sinh hoạt"), OFFICERS,
         state=ModelForm.review_reason, data=lambda t: {"model_id": t["model_id"]},
         wrote=updated("movement_models", "model_id", "status", "removed")),
    Case("ma (add a model)", ("models.ask_unit",), press("ma:{commune_id}"), OFFICERS),
    Case("mu (the unit)", ("models.choose_unit",), press("mu:{area_id}"), OFFICERS, state=ModelForm.unit),
    Case("a unit's code typed", ("models.typed_unit",), send("{hamlet}"), OFFICERS, state=ModelForm.unit),
    Case("mt (the type)", ("models.choose_type",), press("mt:{type_id}"), OFFICER_STEP, state=ModelForm.type,
         data=lambda t: {"area_id": t["area_id"]}),
    Case("a model's name typed", ("models.typed_name",), send("Tổ tự quản số 9"), OFFICER_STEP,
         state=ModelForm.name, data=lambda t: {"area_id": t["area_id"], "type_id": t["type_id"]}),
    Case("a new model's numbers typed", ("models.typed_counts",), send("1 2 3"), OFFICER_STEP,
         state=ModelForm.counts, data=lambda t: {"area_id": t["area_id"], "type_id": t["type_id"], "name": "T"}),
    Case("a model's start typed", ("models.typed_started",), send("01/02/2025"), OFFICER_STEP,
         state=ModelForm.started, data=lambda t: {"area_id": t["area_id"], "type_id": t["type_id"]}),
    Case("ms (skip a step)", ("models.skip",), press("ms:started"), OFFICER_STEP, state=ModelForm.started,
         data=lambda t: {"area_id": t["area_id"], "type_id": t["type_id"]}),
    Case("how to take part typed (add)", ("models.typed_how",), send("Họp tối thứ Bảy"), OFFICERS,
         state=ModelForm.how, data=lambda t: {"area_id": t["area_id"], "type_id": t["type_id"], "name": "Tổ mới",
                                              "counts": [1, 1, 9]},
         wrote=inserted("movement_models", area_id=lambda t: t["area_id"], name="Tổ mới")),
    # /recognition: heads see their checklist; officers and admins register, tick, move along, decide.
    Case("/recognition CODE", ("recognition.show_recognition",), send("/recognition {hamlet}"), STAFF),
    Case("rl (a page of units)", ("recognition.turn_page",), press("rl:{commune_id}:0"), OFFICERS),
    Case("ru (a unit)", ("recognition.open_unit",), press("ru:area:{area_id}"), OFFICERS),
    Case("rs:register", ("recognition.step",), press("rs:register:org:{registered_org_id}"), OFFICERS,
         wrote=inserted("recognitions", organization_id=lambda t: t["registered_org_id"])),
    Case("rs:self_assessed", ("recognition.step",), press("rs:self_assessed:org:{assessed_org_id}"), OFFICERS,
         wrote=updated("recognitions", "assessed_rec_id", "status", "self_assessed")),
    Case("rc (a criterion)", ("recognition.open_criterion",), press("rc:{assessed_rec_id}:{criterion_id}"), OFFICERS),
    Case("rt (a tick)", ("recognition.tick_criterion",), press("rt:{assessed_rec_id}:{criterion_id}:1"), OFFICERS,
         wrote=updated("criterion_checks", "check_id", "met", True)),
    Case("rn (a note)", ("recognition.ask_note",), press("rn:{assessed_rec_id}:{criterion_id}"), OFFICERS),
    Case("a note typed", ("recognition.typed_note",), send("Có biên bản họp"), OFFICERS, state=RecognitionForm.note,
         data=lambda t: {"rec": t["assessed_rec_id"], "crit": t["criterion_id"]},
         wrote=updated("criterion_checks", "check_id", "note", "Có biên bản họp")),
    Case("rd (a decision)", ("recognition.ask_number",), press("rd:{proposed_rec_id}:failed"), OFFICERS),
    Case("rd on a commune (the approver decides)", ("recognition.ask_number",),
         press("rd:{commune_rec_id}:passed"), {**OFFICERS, OFFICER: (ROLE, SCOPE), ADMIN: (ROLE, SCOPE)}),
    Case("a decision's number typed", ("recognition.typed_number",), send("5/QĐ-UBND"), OFFICER_STEP,
         state=RecognitionForm.number, data=lambda t: {"rec": t["proposed_rec_id"], "result": "failed"}),
    Case("a decision's day typed", ("recognition.typed_day",), send("10/08/2026"), OFFICERS,
         state=RecognitionForm.day,
         data=lambda t: {"rec": t["proposed_rec_id"], "result": "failed", "number": "5/QĐ-UBND"},
         wrote=updated("recognitions", "proposed_rec_id", "status", "decided")),
    Case("ry (dated today)", ("recognition.dated_today",), press("ry:today"), OFFICERS, state=RecognitionForm.day,
         data=lambda t: {"rec": t["proposed_rec_id"], "result": "failed", "number": "5/QĐ-UBND"},
         wrote=updated("recognitions", "proposed_rec_id", "status", "decided")),
]


@pytest.fixture
def settings(database_url):
    """Tips switched on, so that /reply and the triage buttons work."""
    return tips_on(database_url)


@dataclass
class Arranged:
    """The tree and the cast, and a fresh target of each kind per try."""

    hamlets: dict[str, dict[str, Any]]
    campaign_id: int
    keys: TipKeys
    made: list = field(default_factory=list)
    tips: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
async def arranged(app, session) -> Arranged:
    app.dispatcher["clock"] = FakeClock(local(2026, 8, 10, 9, 0))
    world = await tree(session, year=2026)
    member = Member(channel="telegram", user_id=str(RESIDENT), role="resident",
                    household_id=world.households["H11"][0].id)
    session.add(member)
    await grant_role(session, "telegram", str(HEAD), "hamlet_head", "H11")
    await grant_role(session, "telegram", str(OFFICER), "officer", "C1")
    await grant_role(session, "telegram", str(ADMIN), "admin", "C1")
    await grant_role(session, "telegram", str(OFFICER_C2), "officer", "C2")
    await session.commit()
    keys = TipKeys(OFFICERS_KEY.public_key, TIP_SECRET.encode())
    hamlets = {scope: {"hamlet": h.code, "area_id": h.id, "join_code": h.join_code, "commune_id": c.id,
                       "commune": c.code}
               for scope, h, c in (("in", world.h11, world.c1), ("out", world.h21, world.c2))}
    return Arranged(hamlets, world.campaign.id, keys)


async def target(session, arranged: Arranged, scope: str, fresh_tip: bool) -> Target:
    """A new household waiting for approval, tip, broadcast and milestone in H11 ("in") or H21."""
    hamlet = arranged.hamlets[scope]
    # A standard milestone is one per area: gone, so that adding one writes a new row.
    await session.execute(delete(Milestone).where(Milestone.kind != "custom"))
    sender = HEAD if scope == "in" else OFFICER_C2
    number = len(arranged.made) + 1
    household = Household(hamlet_id=hamlet["area_id"], code=f"DK{number:04d}", head_name=f"Hộ chờ {number}",
                          head_name_key=f"ho cho {number}", address="", size=2, status="pending")
    session.add(household)
    sender_id = await session.scalar(select(Member.id).where(Member.user_id == str(sender)))
    broadcast = Broadcast(sender_id=sender_id, area_id=hamlet["area_id"], audience="all", text="Họp tổ.",
                          status="scheduled", send_at=local(2026, 8, 20, 8, 0))
    session.add(broadcast)
    if fresh_tip or scope not in arranged.tips:
        tip, _code = await submit_tip(session, arranged.keys, TipDraft("theft", hamlet["area_id"], "Mất trộm xe."), [])
        arranged.tips[scope] = (tip.id, tip.reference_in(TZ))
    tip_id, reference = arranged.tips[scope]
    campaign = await session.get(Campaign, arranged.campaign_id)
    commune = await session.get(Area, hamlet["commune_id"])
    milestone, _new = await add_milestone(session, campaign, commune, "custom", local(2026, 9, 1, 0, 0).date(),
                                          f"Mốc {number}", TZ, None)
    organization = await add_organization(session, commune, f"ORG{number}", f"Đơn vị {number}")
    hamlet_area = await session.get(Area, hamlet["area_id"])
    model = await add_model(session, f"Mô hình {number}", area=hamlet_area)
    units = [await add_organization(session, commune, f"ORG{number}{which}", f"Đơn vị {number}{which}")
             for which in "BCD"]
    await registrations(session, campaign, units)
    await recognitions(session, campaign, units[1:2])
    await recognitions(session, campaign, units[2:], status="proposed")
    assessed = await session.scalar(select(Recognition).where(Recognition.organization_id == units[1].id))
    proposed = await session.scalar(select(Recognition).where(Recognition.organization_id == units[2].id))
    criterion = await session.scalar(select(RecognitionCriterion).where(
        RecognitionCriterion.unit_kind == "agency", RecognitionCriterion.rule.is_(None)))
    check = CriterionCheck(recognition_id=assessed.id, criterion_id=criterion.id, met=False, checked_by_role="officer")
    session.add(check)
    commune_rec = await session.scalar(select(Recognition).where(Recognition.area_id == commune.id))
    if commune_rec is None:
        await recognitions(session, campaign, [commune], status="proposed")
        commune_rec = await session.scalar(select(Recognition).where(Recognition.area_id == commune.id))
    reminder = await add_reminder(session, milestone, hamlet_area, ReminderSpec.parse("1d"), None, None,
                                  local(2026, 8, 10, 9, 0), TZ, None)
    await session.commit()
    arranged.made.append(household.id)
    return Target({
        **hamlet, "household_id": household.id, "broadcast_id": broadcast.id, "tip_id": tip_id,
        "reference": reference, "triage": Triage(tip=tip_id, status="checking").pack(),
        "milestone_id": milestone.id, "campaign_id": arranged.campaign_id, "reminder_id": reminder.id,
        "org_id": organization.id, "model_id": model.id, "type_id": model.type_id,
        "registered_org_id": units[0].id, "assessed_org_id": units[1].id, "assessed_rec_id": assessed.id,
        "proposed_rec_id": proposed.id, "criterion_id": criterion.id, "check_id": check.id,
        "commune_rec_id": commune_rec.id,
    })


def outcome(case: Case, replies: list[str], target: Target, failures: list[str]) -> str:
    """What the caller got, judged from the replies and the failures bot.errors logged."""
    text = "\n".join(replies)
    if failures or APOLOGY in text:
        return CRASHED
    if any(refusal in text for refusal in ROLE_REFUSALS):
        return ROLE
    if any(refusal in text for refusal in SCOPE_REFUSALS) or (case.hides and case.hides(text, target)):
        return SCOPE
    return ALLOWED


def staff_handlers() -> set[str]:
    """Every handler registered with role flags, as "router.function"."""
    found = set()
    for router in handlers.routers():
        for observer in (router.message, router.callback_query):
            for handler in observer.handlers:
                if handler.flags.get(ROLES_FLAG):
                    found.add(f"{router.name}.{handler.callback.__name__}")
    return found


def test_every_command_and_staff_handler_is_in_the_matrix():
    named = {case.name.split()[0].lstrip("/") for case in MATRIX if case.name.startswith("/")}
    assert set(COMMANDS) <= named, f"commands missing from the matrix: {set(COMMANDS) - named}"
    covered = {name for case in MATRIX for name in case.covers}
    assert staff_handlers() <= covered, f"staff handlers missing from the matrix: {staff_handlers() - covered}"
    assert all(set(case.outcomes) == set(ROLES) for case in MATRIX)


@dataclass
class Tried:
    """One cell of the matrix, tried: the outcome, the replies and what it wrote."""

    got: str
    replies: list[str]
    found: list
    target: Target


async def attempt(case: Case, user: int, scope: str, app, chat, session, arranged, caplog) -> Tried:
    """Try a case as `user` on a target in or out of their scope."""
    app.dispatcher.storage.inner.clear()
    chat.session.menus.clear()
    aimed = await target(session, arranged, scope, case.fresh_tip)
    if case.state is not None:
        key = StorageKey(bot_id=chat.bot.id, chat_id=user, user_id=user)
        context = FSMContext(app.dispatcher.storage, key)
        await context.set_state(case.state)
        await context.set_data(case.data(aimed))
    before = await snapshot(session)
    caplog.clear()
    replies = await case.act(chat, user, aimed)
    failures = [record.getMessage() for record in caplog.records
                if record.name == "bot.errors" and record.levelno >= logging.ERROR]
    found = changes(before, await snapshot(session))
    return Tried(outcome(case, replies, aimed, failures), replies, found, aimed)


@pytest.mark.parametrize("case", MATRIX, ids=[case.name for case in MATRIX])
async def test_each_role_in_and_out_of_scope_gets_the_outcome_of_the_matrix(
        case, app, chat, session, arranged, caplog):
    caplog.set_level(logging.ERROR, logger="bot.errors")
    wrong = []
    for user, role in ROLES.items():
        for scope, expected in zip(("in", "out"), case.outcomes[user]):
            tried = await attempt(case, user, scope, app, chat, session, arranged, caplog)
            got, replies, found, aimed = tried.got, tried.replies, tried.found, tried.target
            cell = f"{role} {scope} scope: expected {expected}, got {got}: {replies}"
            if got != expected:
                wrong.append(cell)
            elif expected != ALLOWED and found:
                wrong.append(f"{role} {scope} scope was refused but wrote {[(c.table, c.key) for c in found]}")
            elif expected == ALLOWED and case.wrote is not None and not case.wrote(found, aimed):
                wrong.append(f"{role} {scope} scope was allowed but wrote nothing: {replies}")
    assert not wrong, "\n".join(wrong)


async def test_an_allowed_command_that_crashes_is_not_counted_as_allowed(
        app, chat, session, arranged, caplog, monkeypatch):
    """The matrix's own check: a handler failing into the apology is CRASHED, not ALLOWED."""
    async def broken(*args, **kwargs):
        raise RuntimeError("a bug in the handler")

    monkeypatch.setattr("handlers.areas.area.household_counts", broken)
    caplog.set_level(logging.ERROR, logger="bot.errors")
    [case] = [case for case in MATRIX if case.name == "/area CODE"]
    tried = await attempt(case, OFFICER, "in", app, chat, session, arranged, caplog)
    assert tried.got == CRASHED, tried.replies
