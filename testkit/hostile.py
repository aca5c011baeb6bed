"""What the hostile-input suite and the authorization matrix share: a populated world with
secrets, a Telegram HTML checker, and table snapshots that show what an update changed."""

import re
from dataclasses import dataclass, field
from typing import Any

from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, SendPhoto, TelegramMethod
from aiogram.types import InlineKeyboardMarkup
from nacl.public import PrivateKey
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from base.settings import Settings, load_settings
from db.models import Base, Broadcast, Household, JoinRequest, Member, Pledge, Recognition, WrongCodeMinute, utcnow
from db.services.members import grant_role
from db.services.milestones import add_milestone
from db.services.tip_sealing import TipKeys, grouped, key_text
from db.services.tips import TipDraft, add_reply, set_route, submit_tip
from testkit.arrange import tree
from testkit.delivery_fakes import TZ, local
from testkit.movement import add_model, add_organization, recognitions, registrations

# The officers' key pair of these suites: tips are switched on with it (tips_on).
OFFICERS_KEY = PrivateKey.generate()
TIP_SECRET = "a-lookup-secret-of-the-hostile-suites-0123456789"

# Telegram's limits (Bot API): a message's text after entity parsing, a caption, a callback
# answer, and a button's callback data (in bytes).
TEXT_LIMIT, CAPTION_LIMIT, ALERT_LIMIT, CALLBACK_DATA_BYTES = 4096, 1024, 200, 64
NOW = local(2026, 8, 10, 9, 0)

# The cast: Telegram user ids (also their chat ids), one or two per role and scope.
UNREGISTERED = 900001
RESIDENT_A = 900101  # household H11/H001, consented
RESIDENT_B = 900102  # household H21/H001, withdrew its pledge with a private reason
RESIDENT_C = 900103  # registered a household in H21 that waits for approval
HEAD_H11, HEAD_H21 = 900201, 900202
OFFICER_C1, OFFICER_C2 = 900301, 900302
ADMIN_P, ADMIN_ALL = 900401, 900402
GROUP_C1, GROUP_C2 = -100111, -100222
# What RESIDENT_C wrote asking to join RESIDENT_B's household.
JOIN_NOTE = "Xin vào hộ Kq7J"
CAST = {
    UNREGISTERED: ("unregistered", None),
    RESIDENT_A: ("resident", None),
    RESIDENT_B: ("resident", None),
    RESIDENT_C: ("resident", None),
    HEAD_H11: ("hamlet_head", "H11"),
    HEAD_H21: ("hamlet_head", "H21"),
    OFFICER_C1: ("officer", "C1"),
    OFFICER_C2: ("officer", "C2"),
    ADMIN_P: ("admin", "P"),
    ADMIN_ALL: ("admin", None),
}
STAFF_OF = {  # who may see what lies in an area, by the area's code
    "H11": {HEAD_H11, OFFICER_C1, ADMIN_P, ADMIN_ALL},
    "H21": {HEAD_H21, OFFICER_C2, ADMIN_P, ADMIN_ALL},
    "C2": {OFFICER_C2, ADMIN_P, ADMIN_ALL},
}


def tips_on(database_url: str) -> Settings:
    """The tests' settings with tips switched on (OFFICERS_KEY), so /tip, /reply and triage work."""
    return load_settings(
        database_url=database_url, telegram_token=None, webhook_url=None, redis_url=None,
        default_locale="vi", timezone="Asia/Ho_Chi_Minh",
        tip_public_key=key_text(OFFICERS_KEY.public_key), tip_secret=TIP_SECRET,
    )


@dataclass
class World:
    """The arranged world: areas by code, the cast's member ids, and every secret with the users
    allowed to read it."""

    areas: dict[str, int]
    households: dict[str, list[int]]
    members: dict[int, int]
    tip_ids: dict[str, int]
    broadcast_ids: dict[str, int]
    milestone_id: int
    pending_household_id: int
    homes: dict[int, int]
    join_codes: dict[str, str]
    codes: dict[str, str]
    join_request_id: int
    organizations: dict[str, int]
    org_join_codes: dict[str, str]
    models: dict[str, int]
    recognition_ids: dict[str, int]
    # Each secret: who may read it, and what typed text unlocks it (a receipt code opens its tip).
    secrets: dict[str, tuple[frozenset[int], tuple[str, ...]]] = field(default_factory=dict)


async def build_world(session: AsyncSession, keys: TipKeys) -> World:
    """The tree of testkit/arrange.py with the cast, a pledge withdrawn for a private reason, a
    household waiting for approval, tips with a reply, officers' groups, scheduled broadcasts and
    a commune's own milestone; committed."""
    t = await tree(session, year=2026)
    areas = {a.code: a for a in (t.province, t.c1, t.c2, t.h11, t.h12, t.h21)}
    pending = Household(hamlet_id=t.h21.id, code="DK0001", head_name="Hồ Thị Kq7P",
                        head_name_key="ho thi kq7p", address="Số 9 hẻm Kq7A", size=2, status="pending")
    session.add(pending)
    await session.flush()
    homes = {RESIDENT_A: t.households["H11"][0].id, RESIDENT_B: t.households["H21"][0].id,
             RESIDENT_C: pending.id}
    await restore_cast(session, homes, pending.id, [])
    members = {m.user_id: m for m in await session.scalars(select(Member))}
    b_household = t.households["H21"][0]
    session.add(Pledge(household_id=b_household.id, campaign_id=t.campaign.id, status="withdrawn",
                       pledge_version="2026.1", locale="vi", confirmed_by_id=members[str(RESIDENT_B)].id,
                       confirmed_by_role="resident", confirmed_at=utcnow(), withdrawn_at=utcnow(),
                       withdraw_reason="Lý do riêng Kq7W"))
    await set_route(session, "C1", "telegram", str(GROUP_C1))
    await set_route(session, "C2", "telegram", str(GROUP_C2))
    tip1, code1 = await submit_tip(session, keys, TipDraft("drugs", t.h11.id, "Tin mật Kq7T1"), [])
    tip2, code2 = await submit_tip(session, keys, TipDraft("theft", t.h21.id, "Tin mật Kq7T2",
                                                           place="Nhà Kq7L2"), [])
    await add_reply(session, keys, members[str(OFFICER_C2)], tip2, "Trả lời mật Kq7R2")
    broadcasts = {}
    for code, sender, text in (("H11", HEAD_H11, "Thông báo Kq7B11"), ("C2", OFFICER_C2, "Thông báo Kq7B2")):
        broadcast = Broadcast(sender_id=members[str(sender)].id, area_id=areas[code].id, audience="all",
                              text=text, status="scheduled", send_at=local(2026, 8, 20, 8, 0))
        session.add(broadcast)
        await session.flush()
        broadcasts[code] = broadcast.id
    milestone, _new = await add_milestone(session, t.campaign, t.c2, "custom", local(2026, 9, 1, 0, 0).date(),
                                          "Mốc Kq7M2", TZ, None)
    join_request = JoinRequest(household_id=b_household.id, member_id=members[str(RESIDENT_C)].id,
                               note=JOIN_NOTE, status="pending")
    session.add(join_request)
    # The movement's units: an agency in each commune (C2's registered, its recognition begun),
    # a model in each of H11 and H21.
    units = {code: await add_organization(session, areas[code], f"UB-{code}", f"Ủy ban {code}")
             for code in ("C1", "C2")}
    await registrations(session, t.campaign, [units["C2"]])
    await recognitions(session, t.campaign, [units["C2"], t.h21])
    models = {code: (await add_model(session, f"Tổ tự quản {code}", area=areas[code])).id for code in ("H11", "H21")}
    begun = await session.scalar(select(Recognition.id).where(Recognition.area_id == t.h21.id))
    await session.commit()
    nobody = frozenset()
    readers = {
        # Nobody may read these from chat: tip texts and places, receipt codes; an officer's reply
        # only the holder of its tip's receipt code.
        "Kq7T1": nobody, "Kq7T2": nobody, "Kq7L2": nobody, code1: nobody, code2: nobody,
        "Kq7R2": (nobody, (code2, grouped(code2))),
        "Kq7W": frozenset({RESIDENT_B}),
        "Kq7P": frozenset({RESIDENT_C} | STAFF_OF["H21"]),
        "Kq7A": frozenset({RESIDENT_C} | STAFF_OF["H21"]),
        "Kq7B11": frozenset(STAFF_OF["H11"]),
        "Kq7B2": frozenset(STAFF_OF["C2"]),
        "Kq7M2": frozenset(STAFF_OF["C2"]),
        # Who asks to join RESIDENT_B's household: its member, its hamlet's staff, the asker.
        "Kq7J": frozenset({RESIDENT_B, RESIDENT_C} | STAFF_OF["H21"]),
        **{str(user): frozenset({user}) for user in CAST},
    }
    secrets = {secret: value if isinstance(value, tuple) else (value, ()) for secret, value in readers.items()}
    return World(
        areas={code: area.id for code, area in areas.items()},
        households={code: [h.id for h in found] for code, found in t.households.items()},
        homes=homes,
        members={int(user): m.id for user, m in members.items()},
        tip_ids={"C1": tip1.id, "C2": tip2.id}, broadcast_ids=broadcasts, milestone_id=milestone.id,
        pending_household_id=pending.id,
        organizations={code: unit.id for code, unit in units.items()},
        org_join_codes={code: unit.join_code for code, unit in units.items()},
        models=models,
        recognition_ids={"H21": begun},
        join_codes={code: area.join_code for code, area in areas.items() if area.join_code},
        codes={"C1": code1, "C2": code2},
        join_request_id=join_request.id,
        secrets=secrets,
    )


async def restore_cast(session: AsyncSession, homes: dict[int, int], pending_id: int,
                       broadcast_ids: list[int], join_request_id: int | None = None) -> None:
    """Put the cast back as arranged: every member in their household (an example may have made
    one forget themselves or join another), the pending household pending again, the scheduled
    broadcasts scheduled again, no wrong receipt code counted, the one request to join a
    household waiting again (and no other); not committed."""
    await session.execute(delete(WrongCodeMinute))
    await session.execute(delete(JoinRequest))
    await session.execute(update(Household).where(Household.id == pending_id).values(status="pending"))
    if broadcast_ids:
        await session.execute(update(Broadcast).where(Broadcast.id.in_(broadcast_ids)).values(
            status="scheduled", cancelled_by_id=None))
    for user, (role, area) in CAST.items():
        if role == "unregistered":
            member = await session.scalar(select(Member).where(Member.user_id == str(user)))
            if member is not None:
                await session.delete(member)
            continue
        member = await grant_role(session, "telegram", str(user), role, area)
        member.household_id = homes.get(user)
        member.organization_id = None
        member.consent_at, member.consent_version = utcnow(), "2026.1"
        member.locale = None
    await session.flush()
    if join_request_id is not None:
        asker = await session.scalar(select(Member.id).where(Member.user_id == str(RESIDENT_C)))
        session.add(JoinRequest(id=join_request_id, household_id=homes[RESIDENT_B], member_id=asker,
                                note=JOIN_NOTE, status="pending"))
        await session.flush()


# ---------------------------------------------------------------------------------------------
# Telegram HTML: what the Bot API accepts with parse_mode=HTML.

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:=(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>")
_ATTR = re.compile(r"([a-zA-Z-]+)(?:=(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});")
ALLOWED_TAGS = {
    "b": set(), "strong": set(), "i": set(), "em": set(), "u": set(), "ins": set(), "s": set(),
    "strike": set(), "del": set(), "span": {"class"}, "tg-spoiler": set(), "a": {"href"},
    "tg-emoji": {"emoji-id"}, "code": {"class"}, "pre": set(), "blockquote": {"expandable"},
}
_UNESCAPE = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_length(text: str) -> int:
    """Telegram counts text in UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def html_problems(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Why Telegram would refuse `text` with parse_mode=HTML (an empty list when it would not)."""
    problems, stack, plain, at = [], [], [], 0
    while at < len(text):
        char = text[at]
        if char == "<":
            match = _TAG.match(text, at)
            if match is None:
                problems.append(f"a bare '<' at {at}: {text[at:at + 30]!r}")
                at += 1
                continue
            closing, name, attrs = match[1] == "/", match[2].lower(), match[3]
            if name not in ALLOWED_TAGS:
                problems.append(f"tag <{name}> is not Telegram HTML")
            elif closing:
                if not stack or stack[-1] != name:
                    problems.append(f"</{name}> closes {stack[-1] if stack else 'nothing'}")
                else:
                    stack.pop()
            else:
                for attr in _ATTR.finditer(attrs):
                    key = attr[1].lower()
                    value = next((v for v in attr.groups()[1:] if v is not None), "")
                    if key not in ALLOWED_TAGS[name]:
                        problems.append(f"<{name}> may not have {key}=")
                    if name == "a" and key == "href" and not re.match(r"^(https?|tg)://", value):
                        problems.append(f"link to {value!r}")
                stack.append(name)
            at = match.end()
        elif char == "&":
            match = _ENTITY.match(text, at)
            if match is None:
                problems.append(f"a bare '&' at {at}: {text[at:at + 12]!r}")
                at += 1
                continue
            entity = match[1]
            if entity.startswith("#x"):
                plain.append(chr(int(entity[2:], 16)) if int(entity[2:], 16) < 0x110000 else "?")
            elif entity.startswith("#"):
                plain.append(chr(int(entity[1:])) if int(entity[1:]) < 0x110000 else "?")
            else:
                plain.append(_UNESCAPE[entity])
            at = match.end()
        elif char == ">":
            problems.append(f"a bare '>' at {at}")
            at += 1
        else:
            plain.append(char)
            at += 1
    if stack:
        problems.append(f"unclosed tags {stack}")
    shown = "".join(plain).strip()
    if not shown:
        problems.append("an empty text")
    if utf16_length(shown) > limit:
        problems.append(f"{utf16_length(shown)} characters, more than {limit}")
    return problems


@dataclass
class Reply:
    """One thing the bot said: where, the raw text as sent, and how it reads."""

    chat_id: int | str | None
    raw: str
    kind: str


def reply_problems(method: TelegramMethod[Any]) -> tuple[Reply | None, list[str]]:
    """A recorded Bot API call as a reply, and why Telegram would refuse it."""
    problems: list[str] = []
    markup = getattr(method, "reply_markup", None)
    if isinstance(markup, InlineKeyboardMarkup):
        for row in markup.inline_keyboard:
            for button in row:
                if not button.text.strip():
                    problems.append("a button without a label")
                if button.callback_data is not None and not 1 <= len(button.callback_data.encode()) <= CALLBACK_DATA_BYTES:
                    problems.append(f"callback data {button.callback_data!r} is not 1-64 bytes")
    if isinstance(method, (SendMessage, EditMessageText)):
        problems += html_problems(method.text)
        return Reply(method.chat_id, method.text, "message"), problems
    if isinstance(method, SendPhoto):
        problems += html_problems(method.caption or "x", CAPTION_LIMIT)
        return Reply(method.chat_id, method.caption or "", "photo"), problems
    if isinstance(method, AnswerCallbackQuery):
        if method.text is not None and not 0 < len(method.text) <= ALERT_LIMIT:
            problems.append(f"a callback answer of {len(method.text)} characters")
        return Reply(None, method.text or "", "alert"), problems
    return None, problems


def unescaped(raw: str) -> str:
    """The text a reader sees (tags dropped, entities resolved)."""
    text = re.sub(r"<[^<>]*>", "", raw)
    return _ENTITY.sub(lambda m: _UNESCAPE.get(m[1], "") if not m[1].startswith("#") else "", text)


# ---------------------------------------------------------------------------------------------
# Snapshots: every row of every table, to see exactly what an update wrote.

SKIPPED_TABLES = {"processed_updates", "apscheduler_jobs"}
Rows = dict[str, dict[tuple, dict[str, Any]]]


async def snapshot(session: AsyncSession) -> Rows:
    """Every row of every table (but the update ledger), keyed by primary key, as committed now."""
    await session.rollback()
    rows: Rows = {}
    for table in Base.metadata.sorted_tables:
        if table.name in SKIPPED_TABLES:
            continue
        keys = [column.name for column in table.primary_key.columns]
        result = await session.execute(select(table))
        rows[table.name] = {tuple(row[k] for k in keys): dict(row) for row in result.mappings()}
    await session.rollback()
    return rows


@dataclass
class Change:
    """One row inserted, updated or deleted."""

    table: str
    key: tuple
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def row(self) -> dict[str, Any]:
        """The row as it is now (as it was, when deleted)."""
        return self.after if self.after is not None else self.before

    def changed(self) -> set[str]:
        """The columns whose value changed (every column of an insert or delete)."""
        if self.before is None or self.after is None:
            return set(self.row)
        return {k for k in self.after if self.after[k] != self.before.get(k)}


def changes(before: Rows, after: Rows) -> list[Change]:
    """What differs between two snapshots, row by row."""
    found = []
    for table in after:
        old, new = before.get(table, {}), after[table]
        for key in old.keys() | new.keys():
            if old.get(key) != new.get(key):
                found.append(Change(table, key, old.get(key), new.get(key)))
    return found


# ---------------------------------------------------------------------------------------------
# Which writes an update of one user may make.

STAFF_ROLES = {"hamlet_head", "officer", "admin"}


@dataclass
class Actor:
    """The user behind the updates, as the database knew them before."""

    user_id: int
    member: dict[str, Any] | None
    after: dict[str, Any] | None
    paths: dict[int, str]

    @property
    def ids(self) -> set[int]:
        return {m["id"] for m in (self.member, self.after) if m is not None}

    @property
    def households(self) -> set[int]:
        return {m["household_id"] for m in (self.member, self.after) if m and m["household_id"]}

    @property
    def organizations(self) -> set[int]:
        """The organizations the actor represents (before or after the updates)."""
        return {m["organization_id"] for m in (self.member, self.after) if m and m["organization_id"]}

    def covers(self, area_id: int, roles: set[str] = STAFF_ROLES) -> bool:
        """True when the actor's role (before the updates) reaches the area."""
        if self.member is None or self.member["role"] not in roles:
            return False
        if self.member["area_id"] is None:
            return self.member["role"] == "admin"
        return self.paths[area_id].startswith(self.paths[self.member["area_id"]])


def _member_row(rows: Rows, user_id: int) -> dict[str, Any] | None:
    return next((m for m in rows["members"].values()
                 if m["channel"] == "telegram" and m["user_id"] == str(user_id)), None)


def actor_of(user_id: int, before: Rows, after: Rows) -> Actor:
    """The actor with their member row before and after, and every area's path."""
    paths = {a["id"]: a["path"] for a in after["areas"].values()}
    return Actor(user_id, _member_row(before, user_id), _member_row(after, user_id), paths)


def scope_violations(found: list[Change], actor: Actor, before: Rows) -> list[str]:
    """The changes `actor` had no right to make; empty when every write was theirs to make."""
    tips = {**{key[0]: row for key, row in before["tips"].items()},
            **{c.row["id"]: c.row for c in found if c.table == "tips"}}
    touched = {(c.table, c.row["id"]) for c in found if "id" in c.row}
    forgot = actor.member is not None and actor.after is None
    after_pledges = {**{key[0]: row for key, row in before["pledges"].items()},
                     **{c.row["id"]: c.row for c in found if c.table == "pledges"}}
    officers = {"officer", "admin"}
    bad = []

    organizations = {key[0]: row for key, row in before["organizations"].items()}
    recognition_rows = {**{key[0]: row for key, row in before["recognitions"].items()},
                        **{c.row["id"]: c.row for c in found if c.table == "recognitions"}}

    def commune_of(organization_id: int) -> int:
        return organizations[organization_id]["commune_id"]

    def household_area(household_id: int) -> int:
        return next(c.row["hamlet_id"] for c in found if c.table == "households" and c.row["id"] == household_id)

    def hamlet_of(household_id: int) -> int:
        return before["households"][(household_id,)]["hamlet_id"]

    def may_decide(request: dict[str, Any]) -> bool:
        """The actor was of the household (before) or covers its hamlet, and is not the asker."""
        return request["member_id"] not in actor.ids and (
            request["household_id"] in actor.households or actor.covers(hamlet_of(request["household_id"])))

    decided = [c.after for c in found if c.table == "join_requests" and c.before is not None
               and c.after is not None and c.before["status"] == "pending" and c.after["status"] != "pending"
               and c.after["decided_by_id"] in actor.ids and may_decide(c.after)]

    for change in found:
        row, table, columns = change.row, change.table, change.changed()
        # Forgetting oneself drops the links to one's member id, wherever they are.
        if forgot and change.before and change.after and all(
                change.before[c] in actor.ids and change.after[c] is None for c in columns):
            continue
        ok = False
        if table == "members":
            ok = row["user_id"] == str(actor.user_id) or (
                columns == {"household_id"} and change.after["household_id"] is None
                and ("households", change.before["household_id"]) in touched
                and actor.covers(household_area(change.before["household_id"]))) or (
                # a newcomer the actor confirmed joins the household they asked for
                change.after is not None and columns == {"household_id"} and any(
                    request["member_id"] == row["id"] and request["status"] == "approved"
                    and request["household_id"] == row["household_id"] for request in decided))
        elif table == "join_requests":
            if change.before is None:  # one's own request
                ok = row["member_id"] in actor.ids and row["status"] == "pending"
            elif change.after is None:  # one's own: replaced by a new one, or forgotten with oneself
                ok = row["member_id"] in actor.ids and (row["status"] == "pending" or forgot)
            elif change.before["status"] == "pending" and row["status"] == "pending":  # one's own, renewed
                ok = row["member_id"] in actor.ids and columns <= {"household_id", "note", "created_at"}
            else:
                ok = row in decided
        elif table == "pledge_events":
            pledge = after_pledges.get(row["pledge_id"])
            ok = (change.before is None and row["member_id"] in actor.ids and pledge is not None
                  and pledge["household_id"] in actor.households)
        elif table == "households":
            if change.before is None:
                ok = row["status"] == "pending" and row["id"] in actor.households
            elif change.after is not None:
                ok = (columns == {"status"} and change.before["status"] == "pending"
                      and actor.covers(row["hamlet_id"]))
        elif table == "pledges":
            ok = change.after is not None and row["household_id"] in actor.households and (
                row["confirmed_by_id"] in actor.ids | {None})
        elif table in ("readings", "quiz_attempts"):
            ok = change.after is not None and row["member_id"] in actor.ids and (
                row["household_id"] in actor.households | {None})
        elif table == "tips":
            ok = change.before is None or (columns == {"status"} and actor.covers(row["area_id"], officers))
        elif table == "tip_photos":
            ok = change.before is None and ("tips", row["tip_id"]) in touched
        elif table == "tip_entries":
            tip = tips.get(row["tip_id"])
            if change.before is None and row["kind"] == "addition":
                ok = row["officer_id"] is None
            elif change.before is None:
                ok = row["officer_id"] in actor.ids and tip is not None and actor.covers(tip["area_id"], officers)
        elif table == "broadcasts":
            if change.before is None:
                ok = row["sender_id"] in actor.ids and actor.covers(row["area_id"])
            elif change.after is not None:
                cancelled = (change.before["status"] == "scheduled" and row["status"] == "cancelled"
                             and row["cancelled_by_id"] in actor.ids)
                mine = row["sender_id"] in actor.ids
                may = actor.covers(row["area_id"], officers) or (mine and actor.covers(row["area_id"]))
                ok = (cancelled and may) or (mine and change.before["status"] in ("scheduled", "sending")
                                             and columns <= {"status", "recipients", "finished_at"})
        elif table == "deliveries":
            kind, _sep, rest = row["source"].partition(":")
            # Forgetting oneself cancels one's pending messages and blanks one's message rows.
            forgotten = (forgot and change.before is not None and change.after is not None
                         and change.before["member_id"] in actor.ids
                         and row["chat_id"] == f"forgotten:{row['id']}" and row["text"] == "")
            parts = rest.split(":")
            ok = forgotten or change.before is None and (
                (kind in ("broadcast", "household") and (kind + "s", int(parts[0])) in touched)
                # a request to join a household, or its answer
                or (kind == "household" and len(parts) >= 3 and parts[1] == "join"
                    and ("join_requests", int(parts[2])) in touched)
                # a withdrawal told to the household and its hamlet head
                or (kind == "pledge" and len(parts) == 3 and ("pledge_events", int(parts[2])) in touched))
        elif table == "audit_log":  # the desk's record of a staff action the actor was allowed
            ok = change.before is None and row["member_id"] in actor.ids and (
                row["area_id"] is None or actor.covers(row["area_id"]))
        elif table == "desk_links":  # /dashboard: a staff member's own one-time login link
            ok = change.before is None and row["member_id"] in actor.ids and actor.member is not None and (
                actor.member["role"] in STAFF_ROLES)
        elif table == "wrong_code_minutes":  # anyone's wrong receipt code counts: no sender, no code
            ok = True
        elif table == "campaigns":  # next year's, created with its first milestone
            ok = change.before is None and actor.covers(row["area_id"], officers)
        elif table == "milestones":
            ok = change.after is not None and actor.covers(row["area_id"], officers)
        elif table == "organization_registrations":
            # Its representative confirms or withdraws it (whoever confirmed it), or an officer of
            # its commune records or withdraws it.
            withdrawal = columns <= {"status", "withdrawn_at", "withdraw_reason"} and row["status"] == "withdrawn"
            mine = row["organization_id"] in actor.organizations and (
                withdrawal or row["confirmed_by_id"] in actor.ids | {None})
            ok = change.after is not None and (mine or actor.covers(commune_of(row["organization_id"]), officers))
        elif table in ("recognitions", "movement_models"):
            home = row["area_id"] if row["area_id"] is not None else commune_of(row["organization_id"])
            ok = change.after is not None and actor.covers(home, officers)
        elif table == "criterion_checks":
            recognition = recognition_rows[row["recognition_id"]]
            home = (recognition["area_id"] if recognition["area_id"] is not None
                    else commune_of(recognition["organization_id"]))
            ok = change.after is not None and actor.covers(home, officers)
        elif table == "reminders" and change.after is None:  # removed before it was sent
            ok = change.before["status"] != "sent" and actor.covers(row["area_id"], officers)
        elif table == "reminders":
            ok = actor.covers(row["area_id"], officers) and (
                change.before is not None or row["created_by_id"] in actor.ids)
        if not ok:
            bad.append(f"{table} {change.key}: {change.before} -> {change.after}")
    return bad
