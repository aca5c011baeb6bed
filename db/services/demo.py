"""Demo data: a province → communes → hamlets with households, a campaign and demo staff."""

import random
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from content.catalog import Catalog
from db.models import Household
from db.services.areas import add_area, get_area
from db.services.campaigns import create_campaign
from db.services.demo_campaign import DemoActivity, populate
from db.services.members import grant_role
from db.services.tip_sealing import TipKeys
from db.text import fold

DEMO_PROVINCE = "DEMO"
# Console users the demo gives roles to, so every flow can be tried with `binhyen chat --user N`.
DEMO_STAFF = (("2", "hamlet_head", "DEMO-01-01"), ("3", "officer", "DEMO-01"), ("4", "admin", "DEMO"))

_COMMUNES = ["Xã Tân Hòa", "Xã Bình Thạnh", "Phường An Lạc", "Xã Mỹ Hiệp", "Xã Long Phú",
             "Phường Hòa Thuận", "Xã Phú Điền", "Xã Thanh Bình", "Xã Vĩnh Thới", "Phường Tân Quy"]
_HAMLETS = ["Ấp Bình Long", "Ấp Tân Phú", "Ấp Hòa Bình", "Ấp Mỹ Thuận", "Khóm 1", "Khóm 2",
            "Ấp An Phong", "Ấp Phú Thạnh", "Thôn Đông", "Thôn Tây"]
_FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Hoàng", "Võ", "Phan", "Đặng", "Bùi", "Đỗ",
           "Ngô", "Dương", "Lý"]
_MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Thanh", "Ngọc", "Quốc", "Thị Kim", "Công", "Đức"]
_GIVEN = ["An", "Bình", "Cường", "Dũng", "Hạnh", "Hoa", "Hùng", "Lan", "Linh", "Long", "Mai",
          "Nam", "Phúc", "Quang", "Sơn", "Tâm", "Thảo", "Trung", "Tuấn", "Vy", "Yến", "Đạt"]
_STREETS = ["đường liên ấp", "đường Nguyễn Huệ", "tổ 3", "tổ 5", "kênh Xáng", "đường bờ kè"]
_BATCH = 5000
DEMO_PLEDGE_VERSION = "2026.1"
DEMO_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class DemoSummary:
    """What the demo loader created (`activity`: the middle of the campaign, None when bare)."""

    communes: int
    hamlets: int
    households: int
    activity: DemoActivity | None = None


def _name(number: int, names: list[str]) -> str:
    base = names[number % len(names)]
    return base if number < len(names) else f"{base} {number // len(names) + 1}"


async def load_demo(
    session: AsyncSession,
    households: int,
    year: int,
    communes: int = 4,
    hamlets_per_commune: int = 5,
    seed: int = 2026,
    pledge_version: str = DEMO_PLEDGE_VERSION,
    bare: bool = True,
    today: date | None = None,
    tz: ZoneInfo = DEMO_TZ,
    keys: TipKeys | None = None,
    catalog: Catalog | None = None,
) -> DemoSummary | None:
    """Build the demo province once; returns None when it is already there.

    The campaign uses the pledge text `pledge_version` (the command line passes the catalog's
    newest). `bare`: the tree, households, campaign and staff only; otherwise the middle of a
    campaign as of `today` (db/services/demo_campaign.py), with tips sealed with `keys` if given."""
    if await get_area(session, DEMO_PROVINCE) is not None:
        return None
    rng = random.Random(seed)
    province = await add_area(session, DEMO_PROVINCE, "Tỉnh Bình Yên (dữ liệu mẫu)", "province", None)
    hamlets = []
    for c in range(communes):
        commune = await add_area(
            session, f"DEMO-{c + 1:02d}", _name(c, _COMMUNES), "commune", province
        )
        for h in range(hamlets_per_commune):
            hamlets.append(await add_area(
                session, f"DEMO-{c + 1:02d}-{h + 1:02d}", _name(h, _HAMLETS), "hamlet", commune
            ))
    rows = []
    for number in range(households):
        hamlet = hamlets[number % len(hamlets)]
        head = f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}"
        rows.append({
            "hamlet_id": hamlet.id,
            "code": f"H{number // len(hamlets) + 1:05d}",
            "head_name": head,
            "head_name_key": fold(head),
            "address": f"Số {rng.randint(1, 300)}, {rng.choice(_STREETS)}, {hamlet.name}",
            "size": rng.choice((1, 2, 3, 3, 4, 4, 4, 5, 5, 6, 7)),
        })
        if len(rows) == _BATCH:
            await session.execute(insert(Household), rows)
            rows = []
    if rows:
        await session.execute(insert(Household), rows)
    campaign = await create_campaign(
        session, province, year,
        f"Phong trào toàn dân bảo vệ an ninh Tổ quốc năm {year} (dữ liệu mẫu)",
        pledge_version=pledge_version,
    )
    for user_id, role, area_code in DEMO_STAFF:
        if await get_area(session, area_code) is not None:
            await grant_role(session, "console", user_id, role, area_code)
    summary = DemoSummary(communes, len(hamlets), households)
    if not bare:
        summary.activity = await populate(session, province, campaign, today or date(year, 8, 10), tz, keys,
                                          catalog or Catalog.load(), seed)
    return summary
