"""The audit log: staff actions (logins, tip handling, decisions, broadcasts), for admins."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Area, AuditEntry, Member, utcnow
from db.text import N_

ACTION_LABELS = {
    "login": N_("Đăng nhập bàn làm việc"),
    "logout": N_("Đăng xuất"),
    "tip_status": N_("Đổi trạng thái tin báo"),
    "tip_reply": N_("Trả lời người báo tin"),
    "household_decision": N_("Duyệt hộ đăng ký"),
    "broadcast": N_("Gửi hoặc hẹn thông báo"),
    "broadcast_cancel": N_("Hủy thông báo"),
    "milestone": N_("Thêm hoặc dời mốc chiến dịch"),
    "reminder": N_("Đặt lời nhắc"),
    "reminder_remove": N_("Xóa lời nhắc"),
    "recognition_step": N_("Chuyển bước xét công nhận"),
    "recognition_decision": N_("Quyết định công nhận “An toàn về ANTT”"),
    "model": N_("Thêm mô hình tự quản"),
    "model_review": N_("Rà soát mô hình tự quản"),
}


async def record(
    session: AsyncSession, member: Member | None, action: str, area: Area | None = None,
    subject: str | None = None, detail: str | None = None, at: datetime | None = None,
) -> None:
    """Keep one staff action (no text any resident or tipster wrote)."""
    session.add(AuditEntry(
        at=at or utcnow(), member_id=member.id if member else None, action=action,
        area_id=area.id if area else None, subject=subject, detail=(detail or None) and detail[:200]))
    await session.flush()


async def unit_area(session: AsyncSession, area: Area | None, organization) -> Area | None:
    """The area an entry about a unit is filed under: the unit's own, or its organization's commune."""
    if area is not None:
        return area
    return await session.get(Area, organization.commune_id) if organization is not None else None


async def audit_entries(session: AsyncSession, member: Member, limit: int = 200,
                        action: str | None = None) -> list[AuditEntry]:
    """The newest entries an admin may read: those within their area (all for a deployment admin)."""
    if member.role != "admin":
        return []
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEntry.action == action)
    if member.area is not None:
        below = select(Area.id).where(Area.path.startswith(member.area.path, autoescape=True))
        query = query.where(AuditEntry.area_id.in_(below))
    return list(await session.scalars(query))
