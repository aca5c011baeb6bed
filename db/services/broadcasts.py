"""Broadcasts: who may send what to whom, scheduling (quiet hours), sending, cancelling, reports."""

import html
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from content.catalog import DEFAULT_LANGUAGE, Article, Catalog
from db.models import Area, Broadcast, Delivery, Member
from db.services.audit import record
from db.services.audiences import NEEDS_CAMPAIGN, check_audience, count_recipients, recipients_query
from db.services.campaigns import current_campaign
from db.services.deliveries import counts_by_broadcast, enqueue_audience, enqueue_one
from db.services.members import OFFICER_ROLES, scope_covers
from db.services.schedule_times import QuietHours
from db.text import N_, Problem, Translator

MAX_TEXT = 3000
# An article goes out as its title and summary (the whole article is read with /learn), cut so
# that header, text and article stay within Telegram's 4,096 characters.
MAX_ARTICLE_TITLE = 200
MAX_ARTICLE_SUMMARY = 600
URGENT_ROLES = OFFICER_ROLES  # who may send past the quiet hours
STATUS_LABELS = {
    "scheduled": N_("đã hẹn giờ"),
    "sending": N_("đang gửi"),
    "done": N_("đã gửi xong"),
    "cancelled": N_("đã hủy"),
    "missed": N_("bỏ lỡ"),
}


@dataclass
class BroadcastLine:
    """A broadcast with its delivery counts, for listings."""

    broadcast: Broadcast
    sent: int
    unreachable: int
    failed: int
    waiting: int


def clean_text(text: str | None) -> str:
    """The message as it will be stored: NFC, trimmed, line breaks kept; a Problem if unusable."""
    text = unicodedata.normalize("NFC", text or "").strip()
    if not text:
        raise Problem(N_("Nội dung thông báo đang trống. Hãy gõ nội dung bằng chữ."))
    if len(text) > MAX_TEXT:
        raise Problem(N_("Nội dung dài {length} ký tự; tối đa {limit} ký tự."),
                      length=len(text), limit=MAX_TEXT)
    return text


def check_sender(sender: Member | None, area: Area, audience: str, urgent: bool) -> None:
    """A Problem unless `sender` may send to this audience of `area` (None: the operator's CLI)."""
    check_audience(audience)
    if sender is None:
        return
    if not scope_covers(sender, area):
        raise Problem(N_("Địa bàn {code} nằm ngoài phạm vi bạn phụ trách."), code=area.code)
    if urgent and sender.role not in URGENT_ROLES:
        raise Problem(N_("Chỉ công an xã, phường và quản trị được gửi thông báo khẩn."))


async def _campaign_id(session: AsyncSession, area: Area, audience: str, today: date) -> int | None:
    if audience not in NEEDS_CAMPAIGN:
        return None
    campaign = await current_campaign(session, area, today)
    return campaign.id if campaign else None


async def count_audience(
    session: AsyncSession, sender: Member | None, area: Area, audience: str, now: datetime, tz: ZoneInfo
) -> int:
    """How many people the broadcast would reach now (the preview's count)."""
    campaign_id = await _campaign_id(session, area, audience, now.astimezone(tz).date())
    query = recipients_query(area, audience, campaign_id, sender.id if sender else None)
    return await count_recipients(session, query)


async def require_recipients(
    session: AsyncSession, sender: Member | None, area: Area, audience: str, now: datetime, tz: ZoneInfo
) -> int:
    """The preview's count; a Problem when nobody would receive the broadcast (the chat offers
    no send button then, and the command line refuses it the same way)."""
    count = await count_audience(session, sender, area, audience, now, tz)
    if count == 0:
        raise Problem(N_("Không có ai trong nhóm này để gửi."))
    return count


def find_article(catalog: Catalog, article_id: str) -> Article:
    """The outreach article with this id (in Vietnamese, the catalog's reference); a Problem if
    the catalog has none."""
    article = catalog.article(article_id, DEFAULT_LANGUAGE)
    if article is None:
        raise Problem(N_("Không có bài tuyên truyền “{id}” (mã của một bài là tên thư mục của bài "
                         "trong content/articles)."), id=article_id)
    return article


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_article(translator: Translator, locale: str, article: Article) -> str:
    """An outreach article as a broadcast carries it: title, summary, and how to read it all."""
    title = html.escape(_cut(article.title, MAX_ARTICLE_TITLE), quote=False)
    summary = html.escape(_cut(article.summary, MAX_ARTICLE_SUMMARY), quote=False)
    read = translator(locale, N_("👉 Đọc cả bài ngay trong Bình Yên: gõ /learn {id}")).format(
        id=article.id)
    return "\n\n".join(part for part in (f"📖 <b>{title}</b>", summary, read) if part)


def render(
    translator: Translator, locale: str, area: Area, text: str, urgent: bool,
    article: Article | None = None,
) -> str:
    """The broadcast as a recipient reads it, in their language (Telegram HTML): the header, the
    text, then the article (given in the recipient's language) if there is one."""
    header = N_("🚨 <b>THÔNG BÁO KHẨN — {area}</b>") if urgent else N_("📢 <b>Thông báo — {area}</b>")
    title = translator(locale, header).format(area=html.escape(area.name, quote=False))
    parts = [title, html.escape(text, quote=False) if text else ""]
    if article is not None:
        parts.append(render_article(translator, locale, article))
    return "\n\n".join(part for part in parts if part)


def broadcast_texts(
    translator: Translator, broadcast: Broadcast, catalog: Catalog | None = None
) -> dict[str, str]:
    """The broadcast in each of the deployment's languages, its article in that language."""
    if catalog is None and broadcast.article_id is not None:
        catalog = Catalog.load()  # the catalog shipped with the code
    texts = {}
    for locale in translator.locales:
        article = catalog.article(broadcast.article_id, locale) if broadcast.article_id else None
        texts[locale] = render(translator, locale, broadcast.area, broadcast.text, broadcast.urgent,
                               article)
    return texts


async def create_broadcast(
    session: AsyncSession,
    sender: Member | None,
    area: Area,
    audience: str,
    text: str | None,
    send_at: datetime | None,
    urgent: bool,
    now: datetime,
    tz: ZoneInfo,
    quiet: QuietHours | None,
    translator: Translator,
    *,
    article_id: str | None = None,
    catalog: Catalog | None = None,
) -> Broadcast:
    """Record a broadcast of a text, an outreach article of `catalog`, or both; one due now
    starts at once (its deliveries in this transaction).

    A non-urgent send time within quiet hours moves to their end."""
    check_sender(sender, area, audience, urgent)
    if article_id is not None:
        catalog = catalog if catalog is not None else Catalog.load()  # the one shipped
        find_article(catalog, article_id)
    # With an article the text is optional: it then goes out alone.
    text = clean_text(text) if article_id is None or (text or "").strip() else ""
    when = send_at or now
    if quiet is not None and not urgent:
        when = quiet.release(when, tz)
    broadcast = Broadcast(
        sender_id=sender.id if sender else None, sender=sender, area_id=area.id, area=area,
        audience=audience, text=text, article_id=article_id, urgent=urgent, status="scheduled",
        send_at=when, created_at=now,
    )
    session.add(broadcast)
    await session.flush()
    if sender is not None:
        await record(session, sender, "broadcast", area, subject=f"broadcast:{broadcast.id}",
                     detail="urgent" if urgent else None, at=now)
    if when <= now:
        await start_broadcast(session, broadcast, now, tz, translator, catalog)
    return broadcast


async def start_broadcast(
    session: AsyncSession, broadcast: Broadcast, now: datetime, tz: ZoneInfo, translator: Translator,
    catalog: Catalog | None = None,
) -> bool:
    """Expand a scheduled broadcast into its deliveries, once; False if it was not scheduled.

    When nobody matches any more (all unreachable, or pledged since the preview) it is done at
    once, with 0 recipients."""
    claimed = await session.execute(
        update(Broadcast).where(Broadcast.id == broadcast.id, Broadcast.status == "scheduled")
        .values(status="sending").execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        return False
    broadcast.status = "sending"
    campaign_id = await _campaign_id(session, broadcast.area, broadcast.audience,
                                     now.astimezone(tz).date())
    try:
        query = recipients_query(broadcast.area, broadcast.audience, campaign_id, broadcast.sender_id)
    except Problem:
        # The campaign ended between scheduling and sending: nobody matches the filter now.
        query = None
    texts = broadcast_texts(translator, broadcast, catalog)
    added = 0
    if query is not None:
        added = await enqueue_audience(
            session, f"broadcast:{broadcast.id}", query, texts, translator.default, now,
            broadcast_id=broadcast.id, urgent=broadcast.urgent)
    broadcast.recipients = added
    await session.flush()
    if added == 0:
        await finish_broadcasts(session, now, tz, translator, [broadcast.id])
    return True


async def get_broadcast(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    """The broadcast with this id, or None."""
    return await session.get(Broadcast, broadcast_id)


def may_cancel(member: Member, broadcast: Broadcast) -> bool:
    """Officers and admins cancel within their scope; hamlet heads their own broadcasts."""
    if member.role in URGENT_ROLES:
        return scope_covers(member, broadcast.area)
    return member.role == "hamlet_head" and broadcast.sender_id == member.id


async def cancel_broadcast(session: AsyncSession, member: Member, broadcast_id: int) -> Broadcast:
    """Cancel a broadcast that has not started; a Problem says why not otherwise."""
    broadcast = await get_broadcast(session, broadcast_id)
    if broadcast is None or not may_cancel(member, broadcast):
        raise Problem(N_("Không có thông báo #{id} mà bạn được phép hủy."), id=broadcast_id)
    cancelled = await session.execute(
        update(Broadcast).where(Broadcast.id == broadcast.id, Broadcast.status == "scheduled")
        .values(status="cancelled", cancelled_by_id=member.id)
        .execution_options(synchronize_session=False))
    if cancelled.rowcount != 1:
        raise Problem(N_("Thông báo #{id} đã bắt đầu gửi hoặc đã kết thúc, không hủy được nữa."),
                      id=broadcast_id)
    broadcast.status, broadcast.cancelled_by_id = "cancelled", member.id
    await record(session, member, "broadcast_cancel", broadcast.area, subject=f"broadcast:{broadcast.id}")
    return broadcast


async def recent_broadcasts(session: AsyncSession, member: Member | None, limit: int = 10) -> list[BroadcastLine]:
    """The latest broadcasts the member may see (their scope; heads their hamlet), with counts."""
    query = select(Broadcast).join(Broadcast.area).order_by(Broadcast.id.desc()).limit(limit)
    if member is not None and member.area is not None:
        query = query.where(Area.path.startswith(member.area.path, autoescape=True))
    elif member is not None and member.role != "admin":
        return []
    broadcasts = list(await session.scalars(query))
    counts = await counts_by_broadcast(session, [b.id for b in broadcasts])
    return [
        BroadcastLine(b, counts[b.id]["sent"], counts[b.id]["unreachable"], counts[b.id]["failed"],
                      counts[b.id]["pending"] + counts[b.id]["sending"])
        for b in broadcasts
    ]


async def scheduled_broadcasts(session: AsyncSession) -> list[Broadcast]:
    """Every broadcast waiting for its time, for the scheduler's plan."""
    query = select(Broadcast).where(Broadcast.status == "scheduled").order_by(Broadcast.send_at)
    return list(await session.scalars(query))


async def finish_broadcasts(
    session: AsyncSession, now: datetime, tz: ZoneInfo, translator: Translator,
    broadcast_ids: list[int] | None = None,
) -> list[int]:
    """Close broadcasts with no delivery left to send, and queue the sender's final count."""
    busy = exists().where(Delivery.broadcast_id == Broadcast.id,
                          Delivery.status.in_(("pending", "sending")))
    query = select(Broadcast).where(Broadcast.status == "sending", ~busy)
    if broadcast_ids is not None:
        query = query.where(Broadcast.id.in_(broadcast_ids))
    finished = []
    for broadcast in await session.scalars(query):
        closed = await session.execute(
            update(Broadcast).where(Broadcast.id == broadcast.id, Broadcast.status == "sending")
            .values(status="done", finished_at=now).execution_options(synchronize_session=False))
        if closed.rowcount != 1:
            continue  # another worker closed it
        broadcast.status, broadcast.finished_at = "done", now
        finished.append(broadcast.id)
        await _report(session, broadcast, now, tz, translator)
    return finished


async def _report(
    session: AsyncSession, broadcast: Broadcast, now: datetime, tz: ZoneInfo, translator: Translator
) -> None:
    sender = broadcast.sender
    if sender is None or sender.unreachable_at is not None:
        return
    counts = (await counts_by_broadcast(session, [broadcast.id]))[broadcast.id]
    text = translator(sender.locale, N_(
        "✅ Thông báo #{id} ({area}) đã gửi xong: {sent} người đã nhận, "
        "{unreachable} không liên lạc được, {failed} lỗi.")).format(
        id=broadcast.id, area=html.escape(broadcast.area.name, quote=False),
        sent=counts["sent"], unreachable=counts["unreachable"], failed=counts["failed"])
    # Urgent: the sender just acted and waits for this, even during quiet hours.
    await enqueue_one(session, f"broadcast:{broadcast.id}:report", sender, text, now, urgent=True)


async def miss_broadcast(
    session: AsyncSession, broadcast: Broadcast, now: datetime, tz: ZoneInfo, translator: Translator
) -> bool:
    """A broadcast whose time passed long ago while the scheduler was down: not sent; the sender
    is told."""
    missed = await session.execute(
        update(Broadcast).where(Broadcast.id == broadcast.id, Broadcast.status == "scheduled")
        .values(status="missed", finished_at=now).execution_options(synchronize_session=False))
    if missed.rowcount != 1:
        return False
    broadcast.status = "missed"
    sender = broadcast.sender
    if sender is not None and sender.unreachable_at is None:
        text = translator(sender.locale, N_(
            "⚠️ Thông báo #{id} hẹn gửi lúc {when} đã không được gửi vì Bình Yên ngừng hoạt động "
            "quá lâu. Nếu vẫn cần, hãy gửi lại bằng /broadcast.")).format(
            id=broadcast.id, when=f"{broadcast.send_at.astimezone(tz):%H:%M %d/%m/%Y}")
        await enqueue_one(session, f"broadcast:{broadcast.id}:report", sender, text, now, urgent=True)
    return True
