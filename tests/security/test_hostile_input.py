"""Hostile input at every handler, through the real dispatcher (issue 8, point 4).

Hypothesis throws random and malformed updates at a populated world: commands with random
arguments, forged callback data for every button prefix, huge, empty and garbage texts, NFD
Vietnamese, SQL and HTML injection at every free-text step, messages in groups, updates with
fields missing. After every example:

- nothing reached the error handler (bot/errors.py) and nothing escaped `feed_update`;
- every reply is Telegram HTML that parses, within Telegram's lengths, user text quoted;
- no reply tells the user a secret of someone else (tip texts, receipt codes, another
  household's private data, staff-only lists of another area, other users' ids);
- every row written is one the user's role and scope allow (testkit/hostile.py).
"""

import logging
import os
import sys
import traceback
import unicodedata
from dataclasses import dataclass

import pytest
from aiogram.types import CallbackQuery, Chat, InaccessibleMessage, Message, Update
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from base.commands import COMMANDS
from bot.app import tip_keys
from content.catalog import Catalog
from db.services.tip_limits import TipLimits
from testkit.delivery_fakes import FakeClock
from testkit.hostile import (
    CAST,
    GROUP_C1,
    GROUP_C2,
    NOW,
    World,
    actor_of,
    build_world,
    changes,
    reply_problems,
    restore_cast,
    scope_violations,
    snapshot,
    tips_on,
    unescaped,
)

# Examples per backend; BINHYEN_TEST_HOSTILE_EXAMPLES=3000 explores further (by hand, not in CI).
EXAMPLES = int(os.environ.get("BINHYEN_TEST_HOSTILE_EXAMPLES", "500"))

# HTML that must come back quoted: the marker at the end shows whether it was.
INJECTIONS = ["<b>x</b>Zq1", '<a href="javascript:alert(1)">x</a>Zq2', "&amp;Zq3", "&lt;Zq4",
              "<script>Zq5", "</b>Zq6", "<i>Zq7", "&#60;Zq8"]
HOSTILE = [
    "", " ", "\n\t ", "'; DROP TABLE households; --", "%", "_", "\\", "%_\\%", "' OR '1'='1",
    "Robert'); DELETE FROM members;--", *INJECTIONS,
    unicodedata.normalize("NFD", "Nguyễn Văn An"), unicodedata.normalize("NFD", "Lê Hoàng Đức"),
    unicodedata.normalize("NFD", "Đã đọc và đồng ý"), "NGUYEN van AN", "nguyễn",
    "\u202eRTL\u202c", "\u200f\u200e", "😀👨‍👩‍👧‍👦🇻🇳", "\x00", "a\x00b", "\x07\x1b[31m", "\ud800", "x\udfffy",
    "\ufeff", "\ufffd", "x" * 4097, "ạ" * 4100, "y" * 100_000, "1", "2", "3", "0", "-1", "99", "٣", "²",
    "１２", "1e9", "99999999999999999999", "H11", "h21", "C2", "P", "DEMO-01", "T-2026-000002",
    "T-2026-999999999", "T-9999-000001", "0000 0000 0000", "123456789012", "0000 0000 0000 0000", "1234567890123456", "19/08/2026",
    "31/02/2026", "00/00/0000", "25:61", "07:30", "23:59", "20/08 07:30", "31/12/2026 07:00",
    "/cancel", "/start", "/help", "/unknown", "/tip@OtherBot",
]
texts = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.builds(lambda a, b: a + b, st.sampled_from(HOSTILE), st.text(max_size=10)),
)
# Placeholders for ids only the world knows; resolved before an action is sent.
IDS = ["#A.P", "#A.C1", "#A.C2", "#A.H11", "#A.H12", "#A.H21", "#HH.H11", "#HH.H21", "#HH.PENDING",
       "#T.C1", "#T.C2", "#B.H11", "#B.C2", "#M", "#O.C1", "#O.C2", "#MD.H11", "#MD.H21", "#RC.H21"]
SUFFIXES = ["", "0", "1", "-1", str(2**31), str(2**63), "9" * 30, "²", "٣", "１", "yes", "no", "abc",
            "checking", "closed", "all", "heads", "custom", "now", "other", "send", "cancel", "%", "'--",
            "x:y:z", ":::", *IDS]
# Every prefix of callback data the routers read (F.data filters and CallbackData classes);
# a button the bot offers with another prefix fails the property, which keeps this list complete.
PREFIXES = [
    "lang:", "area:", "consent:", "hh:list:", "hh:pick:", "hh:new", "hh:register", "hh:cancel",
    "learn:t:", "learn:a:", "learn:topics", "learn:r:", "quiz:s:", "quiz:a:", "pledge:confirm",
    "pledge:withdraw", "forget:", "hl:h:", "hl:unpledged:", "hl:unreached:", "ap:h:", "ap:y:", "ap:n:",
    "bc:cancel", "bc:area:", "bc:aud:", "bc:urgent", "bc:now", "bc:at:", "bc:drop:", "bc:dropok:",
    "bc:keep", "bc:art", "bc:art:", "cp:close", "cp:add", "cp:remind", "cp:kind:", "cp:festival",
    "cp:ms:", "cp:at:", "cp:aud:", "cp:year:", "cp:rm", "cp:rm:", "cp:rmok:", "tipk:", "tipa:open:", "tipa:pick:", "tipw:", "tipx:", "tipo:", "tips:",
    "oj:", "op:", "od:", "odp:", "mo:", "mr:", "mp:", "ma:", "mu:", "mt:", "ms:", "mm:", "oc:",
    "ru:", "rl:", "rs:", "rc:", "rt:", "rn:", "rd:", "ry:",
]
suffixes = st.one_of(
    st.sampled_from(SUFFIXES),
    st.builds(lambda a, b: f"{a}:{b}", st.sampled_from(SUFFIXES), st.sampled_from(SUFFIXES)),
    st.text(max_size=12),
)
callback_data = st.one_of(st.builds(lambda p, s: p + s, st.sampled_from(PREFIXES), suffixes),
                          st.text(max_size=70))
commands = st.one_of(
    st.builds(lambda name, arg: f"/{name} {arg}".rstrip(), st.sampled_from(sorted(COMMANDS)), texts),
    st.builds(lambda name, arg: f"/{name} {arg}", st.sampled_from(sorted(COMMANDS)), st.sampled_from(IDS)),
    st.sampled_from([f"/{name}" for name in COMMANDS] + ["/start j_#J.H11", "/join #J.H21", "/start j_",
                                                         "/START", "/help@binhyen_bot", "/join j_%"]),
)
RAW_KINDS = ["no_sender", "no_text", "edited", "channel_post", "inline_button", "old_button",
             "no_data", "unknown_type", "member_update"]
ARTICLE = Catalog.load().in_topic("traffic", "vi")[0]
QUIZ = f"quiz:a:{ARTICLE.id}"
# Paths into every conversation step that takes typed text: "?" is where hostile text goes,
# or one of the answers that step accepts (listed third), so that the path goes on.
SCENARIOS = {
    "join": [("send", "/join #J.H11"), ("press", "consent:yes"), ("send", "?", ["Nguyễn", "H002", "an"]),
             ("press", "hh:list:0"), ("press", "hh:pick:#HH.H11"), ("send", "/join #J.H21"),
             ("press", "hh:new"), ("send", "?", ["Trần Văn Mới"]), ("send", "?", ["Số 3, tổ 2"]),
             ("send", "?", ["4", "99"]), ("press", "hh:register")],
    "tip": [("send", "/tip"), ("press", "tipk:drugs"), ("press", "tipa:open:#A.C1:0"),
            ("press", "tipa:pick:#A.H11:0"), ("send", "?", ["Quán nước đầu hẻm"]),
            ("send", "?", ["Tối qua, khoảng 22 giờ"]), ("send", "?", ["Có người bán ma túy ở quán."]),
            ("press", "tipx:photos_done"), ("press", "tipx:send")],
    "tipstatus": [("send", "/tipstatus"), ("send", "?", ["#CODE.C1", "#CODE.C2"]), ("press", "tips:add"),
                  ("send", "?", ["Người đó đi xe máy màu đỏ."]), ("send", "/tipstatus ?", ["#CODE.C2"])],
    "pledge": [("send", "/pledge"), ("press", "pledge:confirm"), ("press", "pledge:withdraw"),
               ("send", "?", ["Hộ chuyển đi nơi khác"])],
    "learn": [("send", "/learn"), ("press", "learn:t:traffic"), ("press", f"learn:r:{ARTICLE.id}:{ARTICLE.version}"),
              ("press", f"quiz:s:{ARTICLE.id}"), ("press", f"{QUIZ}:0:0"), ("press", f"{QUIZ}:1:1"),
              ("press", f"{QUIZ}:2:0"), ("press", f"{QUIZ}:2:9")],
    "broadcast": [("send", "/broadcast"), ("send", "?", ["H11", "C1", "H21"]),
                  ("send", "?", ["Họp tổ nhân dân tự quản tối nay."]), ("press", "bc:aud:all"),
                  ("press", "bc:urgent"), ("press", "bc:at:other"), ("send", "?", ["23:59", "20/08 07:30"]),
                  ("send", "/broadcast"), ("press", "bc:art"), ("press", f"bc:art:{ARTICLE.id}"),
                  ("press", "bc:aud:all"), ("press", "bc:now")],
    "broadcasts": [("send", "/broadcasts"), ("press", "bc:drop:#B.H11"), ("press", "bc:dropok:#B.H11"),
                   ("press", "bc:drop:#B.C2"), ("press", "bc:dropok:#B.C2"), ("press", "bc:keep")],
    "campaign": [("send", "/campaign ?", ["", "C1", "C2", "H21"]), ("press", "cp:add"), ("press", "cp:kind:custom"),
                 ("send", "?", ["Họp sơ kết quý"]), ("send", "?", ["01/09/2026", "31/02/2026"]),
                 ("press", "cp:remind"), ("press", "cp:ms:#M"), ("send", "?", ["1", "91"]),
                 ("send", "?", ["1"]), ("send", "?", ["08:00", "25:00"]), ("press", "cp:aud:all"),
                 ("press", "cp:rm"), ("press", "cp:year:2027"), ("press", "cp:add"),
                 ("press", "cp:kind:registration_deadline"), ("send", "?", ["10/02/2027"])],
    "approve": [("send", "/approve ?", ["H21", "H11", ""]), ("press", "ap:h:#A.H21"),
                ("press", "ap:y:#HH.PENDING"), ("press", "ap:n:#HH.PENDING")],
    "households": [("send", "/households ?", ["H11", "H21", ""]), ("press", "hl:h:#A.H21"),
                   ("press", "hl:unpledged:#A.H21:0"), ("press", "hl:unreached:#A.H11:0")],
    "reply": [("send", "/reply #R.C1 ?"), ("send", "/reply #R.C2 ?"), ("send", "/reply ?")],
    "privacy": [("send", "/language"), ("press", "lang:en"), ("send", "/privacy"), ("send", "/forget"),
                ("press", "forget:yes")],
    "orgs": [("send", "/join #OJ.C1"), ("press", "oj:yes:#O.C1"), ("press", "op:confirm:#O.C1"),
             ("press", "op:withdraw:#O.C1"), ("send", "?", ["Đơn vị sáp nhập"]), ("press", "oc:#O.C1"),
             ("send", "/orgs ?", ["", "C1", "C2"]), ("press", "od:open:#O.C2"), ("press", "od:paper:#O.C1"),
             ("press", "od:withdraw:#O.C2"), ("send", "?", ["Đăng ký nhầm"])],
    "models": [("send", "/models ?", ["", "H11", "H21", "C2"]), ("press", "mo:#MD.H21"),
               ("press", "mr:effective:#MD.H11"), ("press", "mr:counts:#MD.H21"), ("send", "?", ["1 2 3"]),
               ("press", "mr:removed:#MD.H11"), ("send", "?", ["Không còn sinh hoạt"]), ("press", "ma:#A.C1"),
               ("send", "?", ["H11", "UB-C2", "H21"]), ("press", "mt:1"), ("send", "?", ["Tổ mới"]),
               ("send", "?", ["1 2 3"]), ("press", "ms:started"), ("send", "?", ["Họp tối thứ Bảy"]),
               ("send", "/learn"), ("press", "mm:show")],
    "recognition": [("send", "/recognition ?", ["", "C1", "H21", "C2"]), ("press", "ru:area:#A.H11"),
                    ("press", "rs:register:area:#A.H11"), ("press", "rs:register:org:#O.C2"),
                    ("press", "rs:self_assessed:area:#A.H21"), ("press", "rc:#RC.H21:1"),
                    ("press", "rt:#RC.H21:1:1"), ("press", "rn:#RC.H21:1"), ("send", "?", ["Có biên bản"]),
                    ("press", "rd:#RC.H21:failed"), ("send", "?", ["1/QĐ-UBND"]),
                    ("send", "?", ["10/08/2026"])],
    "staff": [("send", "/area ?", ["H21", "C2", "P"]), ("send", "/stats ?", ["H21", "C2"]),
              ("send", "/tips"), ("send", "/help")],
}

# Buttons every role may have in some chat, pressed under an inline-mode message instead.
INLINE_PRESSES = ["tipo:#T.C1:checking", "tipo:#T.C2:closed", "learn:topics", "area:#A.C1", "area:#A.H11",
                  "lang:en", "consent:yes", "hh:list:0", "hh:pick:#HH.H11", "hh:new", "pledge:confirm",
                  "pledge:withdraw", "forget:yes", "hl:h:#A.H11", "ap:h:#A.H21", "ap:y:#HH.PENDING",
                  "bc:drop:#B.H11", "cp:add", "cp:year:2027", "tipk:drugs", "tipx:send", "tips:ask",
                  "tips:add", "learn:t:traffic", f"quiz:s:{ARTICLE.id}"]

ROLES = {"unregistered", "resident", "hamlet_head", "officer", "admin"}
# Who a path is for, mostly (anyone else tries it too).
SUITED = {
    "join": {"unregistered", "resident"}, "pledge": {"resident"}, "learn": {"unregistered", "resident"},
    "broadcast": {"hamlet_head", "officer", "admin"}, "broadcasts": {"hamlet_head", "officer", "admin"},
    "campaign": {"officer", "admin"}, "approve": {"hamlet_head", "officer", "admin"},
    "households": {"hamlet_head", "officer", "admin"}, "reply": {"officer", "admin"},
    "staff": {"hamlet_head", "officer", "admin"},
    "orgs": {"unregistered", "resident", "officer", "admin"}, "models": {"resident", "hamlet_head", "officer", "admin"},
    "recognition": {"hamlet_head", "officer", "admin"},
}


@st.composite
def random_action(draw) -> tuple:
    """One update of any kind."""
    kind = draw(st.sampled_from(["send", "number", "command", "press", "group", "group_press", "raw",
                                 "inline_press"]))
    if kind == "send":
        return ("send", draw(texts))
    if kind == "number":  # a number typed at a menu presses its option on text channels
        return ("send", str(draw(st.integers(0, 15))))
    if kind == "command":
        return ("send", draw(commands))
    if kind == "press":
        return ("press", draw(callback_data))
    if kind == "group":
        return ("group", draw(st.one_of(commands, texts)))
    if kind == "group_press":
        return ("group_press", draw(st.one_of(callback_data, st.just("tipo:#T.C1:checking"),
                                              st.just("tipo:#T.C2:closed"))))
    if kind == "inline_press":  # a real button's data under an inline-mode message (no chat)
        return ("inline_press", draw(st.one_of(callback_data, st.sampled_from(INLINE_PRESSES))))
    return ("raw", draw(st.sampled_from(RAW_KINDS)), draw(texts))


@st.composite
def examples(draw) -> tuple[int, list[tuple]]:
    """A user of the cast and what they send: a path into a conversation with hostile text in its
    free-text steps (or random updates), then a few random updates."""
    scenario = draw(st.sampled_from([None, *SCENARIOS]))
    suited = [user for user, (role, _area) in CAST.items() if role in SUITED.get(scenario, ROLES)]
    user = draw(st.one_of(st.sampled_from(suited), st.sampled_from(sorted(CAST))))
    actions = []
    if scenario is not None:
        for kind, value, *accepted in SCENARIOS[scenario]:
            if "?" in value:
                answers = st.sampled_from(accepted[0] if accepted else [""])
                value = value.replace("?", draw(st.one_of(texts, answers)))
            actions.append((kind, value))
    actions += draw(st.lists(random_action(), min_size=0 if scenario else 1, max_size=4))
    return user, actions


@pytest.fixture
def settings(database_url):
    """Tips switched on."""
    return tips_on(database_url)


class Failures(logging.Handler):
    """Collects what the bot logs when it fails: the error handler's apology, a send after the
    commit that failed, an officers' copy that could not go out."""

    WATCHED = ("bot.errors", "bot.exactly_once.transaction", "handlers.tips.inbox", "aiogram.event")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> "Failures":
        for name in self.WATCHED:
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        for name in self.WATCHED:
            logging.getLogger(name).removeHandler(self)


@pytest.fixture
async def world(app, session, settings) -> World:
    app.dispatcher["clock"] = FakeClock(NOW)
    return await build_world(session, tip_keys(settings))


def where(exc_info) -> str:
    """The exception and the last frame of our own code it passed through."""
    frames = [f for f in traceback.extract_tb(exc_info[2]) if "site-packages" not in f.filename]
    place = f" at {frames[-1].filename.rsplit('/', 2)[-2:]}:{frames[-1].lineno}" if frames else ""
    return f"{exc_info[1]!r}{place}"


@dataclass
class Run:
    """One example's updates and what came back."""

    user: int
    sent_texts: list[str]
    replies: list
    escaped: list[str]


def resolve(value: str, world: World) -> str:
    """Replace the id placeholders by the world's ids."""
    if "#" not in value:
        return value
    ids = {
        **{f"#A.{code}": str(area_id) for code, area_id in world.areas.items()},
        "#HH.H11": str(world.households["H11"][1]), "#HH.H21": str(world.households["H21"][1]),
        "#HH.PENDING": str(world.pending_household_id),
        "#T.C1": str(world.tip_ids["C1"]), "#T.C2": str(world.tip_ids["C2"]),
        "#R.C1": f"T-2026-{world.tip_ids['C1']:06d}", "#R.C2": f"T-2026-{world.tip_ids['C2']:06d}",
        "#B.H11": str(world.broadcast_ids["H11"]), "#B.C2": str(world.broadcast_ids["C2"]),
        "#M": str(world.milestone_id), "#CODE.C1": world.codes["C1"], "#CODE.C2": world.codes["C2"],
        **{f"#J.{code}": join for code, join in world.join_codes.items()},
        **{f"#O.{code}": str(unit) for code, unit in world.organizations.items()},
        **{f"#OJ.{code}": join for code, join in world.org_join_codes.items()},
        **{f"#MD.{code}": str(model) for code, model in world.models.items()},
        **{f"#RC.{code}": str(rec) for code, rec in world.recognition_ids.items()},
    }
    for token in sorted(ids, key=len, reverse=True):
        value = value.replace(token, ids[token])
    return value


def raw_update(chat, kind: str, user: int, text: str) -> Update:
    """An update with a field missing, of an unexpected kind, or from an old message."""
    update_id = next(chat._ids)
    message = Message(message_id=next(chat._ids), date=0, chat=Chat(id=user, type="private"),
                      from_user=chat.user(user), text=text or None)
    if kind == "no_sender":
        return Update(update_id=update_id, message=message.model_copy(update={"from_user": None}))
    if kind == "no_text":
        return Update(update_id=update_id, message=message.model_copy(update={"text": None}))
    if kind == "edited":
        return Update(update_id=update_id, edited_message=message)
    if kind == "channel_post":
        post = message.model_copy(update={"from_user": None, "chat": Chat(id=-100999, type="channel")})
        return Update(update_id=update_id, channel_post=post)
    query = dict(id=f"raw{update_id}", from_user=chat.user(user), chat_instance="raw", data=text[:64] or "x")
    chat.session.remember_callback(query["id"], user)
    if kind == "inline_button":
        return Update(update_id=update_id, callback_query=CallbackQuery(**query, inline_message_id="inline1"))
    if kind == "old_button":
        old = InaccessibleMessage(chat=Chat(id=user, type="private"), message_id=1)
        return Update(update_id=update_id, callback_query=CallbackQuery(**query, message=old))
    if kind == "no_data":
        return Update(update_id=update_id, callback_query=CallbackQuery(
            **{**query, "data": None}, message=message, game_short_name="game"))
    if kind == "member_update":
        return Update.model_validate({"update_id": update_id, "my_chat_member": {
            "chat": {"id": user, "type": "private"}, "from": {"id": user, "is_bot": False, "first_name": "U"},
            "date": 0, "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True, "first_name": "B"}},
            "new_chat_member": {"status": "kicked", "until_date": 0,
                                "user": {"id": 1, "is_bot": True, "first_name": "B"}}}})
    return Update.model_validate({"update_id": update_id, "future_update_kind": {"text": text}})


async def press(chat, data: str, user: int, chat_id: int) -> None:
    """Press a button with this data, offered or not, under the chat's latest message."""
    menu = chat.session.menus.get(chat_id)
    if menu is not None and any(o.callback_data == data for o in menu.options):
        await chat.press(data, user_id=user, chat_id=chat_id)
        return
    await chat.press(data, user_id=user, chat_id=chat_id, forged=True)


async def play(chat, world: World, user: int, actions: list[tuple]) -> Run:
    """Send the actions as `user`; any exception escaping the dispatcher fails the example."""
    start = len(chat.session.requests)
    typed, escaped = [], []
    for action in actions:
        kind, value = action[0], resolve(action[-1], world)
        typed.append(value)
        try:
            await act(chat, kind, action, value, user)
        except Exception:  # what escapes the dispatcher would fail the webhook or the transport
            escaped.append(f"escaped: {where(sys.exc_info())}")
    return Run(user, typed, chat.session.requests[start:], escaped)


async def act(chat, kind: str, action: tuple, value: str, user: int) -> None:
    """Send one action as `user`."""
    if kind == "send":
        await chat.send(value, user_id=user)
    elif kind == "press":
        await press(chat, value, user, user)
    elif kind == "group":
        await chat.send(value, user_id=user, chat_id=GROUP_C1)
    elif kind == "group_press":
        await press(chat, value, user, GROUP_C2 if user % 2 else GROUP_C1)
    elif kind == "inline_press":
        await chat.feed(inline_press(chat, value, user))
    else:
        await chat.feed(raw_update(chat, action[1], user, value))


def inline_press(chat, data: str, user: int) -> Update:
    """A button under an inline-mode message: `inline_message_id`, no message, no chat."""
    update_id = next(chat._ids)
    query_id = f"inline{update_id}"
    chat.session.remember_callback(query_id, user)  # the alert is shown to the presser
    return Update(update_id=update_id, callback_query=CallbackQuery(
        id=query_id, from_user=chat.user(user), chat_instance="inline", inline_message_id="AAEx",
        data=data))


async def reset(app, chat, session, world: World) -> None:
    """Each example starts alike: no conversation under way, no menus, fresh tip limits, the cast
    as arranged."""
    app.dispatcher.storage.inner.clear()
    chat.session.menus.clear()
    settings_ = app.settings
    app.dispatcher["tip_limits"] = TipLimits(None, settings_.tip_limit_per_sender_day,
                                             settings_.tip_limit_per_hour, settings_.tz)
    await session.rollback()
    await restore_cast(session, world.homes, world.pending_household_id, list(world.broadcast_ids.values()))
    await session.commit()


def check_replies(run: Run, world: World) -> list[str]:
    """Replies Telegram would refuse, user HTML that came back as markup, and secrets told to
    someone who may not read them."""
    problems = []
    typed = "\n".join(run.sent_texts)
    for method in run.replies:
        reply, refused = reply_problems(method)
        markup = getattr(method, "reply_markup", None)
        for button in [b for row in getattr(markup, "inline_keyboard", []) for b in row]:
            if button.callback_data and not button.callback_data.startswith(tuple(PREFIXES)):
                problems.append(f"a button {button.callback_data!r} with a prefix missing from PREFIXES")
        if reply is None:
            continue
        shown = unescaped(reply.raw)
        problems += [f"{refused_one} in {reply.raw[:300]!r}" for refused_one in refused]
        for injection in INJECTIONS:
            marker = injection[-3:]
            if marker in shown and injection in typed and injection not in shown:
                problems.append(f"{injection!r} came back as markup: {reply.raw[:300]!r}")
        for secret, (readers, keys) in world.secrets.items():
            if secret in shown and run.user not in readers and not any(key in typed for key in (secret, *keys)):
                problems.append(f"{secret!r} told to {run.user}: {reply.raw[:300]!r}")
    return problems


@hypothesis_settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(example=examples())
async def test_hostile_updates_break_nothing_leak_nothing_and_write_only_within_scope(
        example, app, chat, session, world):
    user, actions = example
    await reset(app, chat, session, world)
    before = await snapshot(session)
    with Failures() as failures:
        run = await play(chat, world, user, actions)
    after = await snapshot(session)
    problems = [f"logged: {r.getMessage()} {where(r.exc_info)}" if r.exc_info else f"logged: {r.getMessage()}"
                for r in failures.records]
    problems += run.escaped + check_replies(run, world)
    problems += scope_violations(changes(before, after), actor_of(user, before, after), before)
    assert not problems, "\n".join([f"user {user} ({CAST[user][0]}) sent {actions!r}:", *problems])


async def test_a_button_under_an_inline_message_is_answered_politely_by_every_role(app, chat, session, world):
    """A callback query without a message (an inline-mode message's button) has no chat to
    answer in: every handler would fail on `callback.message`. It gets a notice, changes nothing."""
    before = await snapshot(session)
    for user in CAST:
        for data in INLINE_PRESSES:
            start = len(chat.session.sent)
            with Failures() as failures:
                await chat.feed(inline_press(chat, resolve(data, world), user))
            assert not failures.records, (user, data, [r.getMessage() for r in failures.records])
            [notice] = [sent.text for sent in chat.session.sent[start:]]
            assert "chỉ dùng được trong khung chat riêng" in notice, (user, data, notice)
    assert not changes(before, await snapshot(session))
