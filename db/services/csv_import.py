"""Bulk import of areas and households from UTF-8 CSV files: all rows or none."""

import bisect
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Area, Household
from db.services.areas import add_area, check_parent
from db.text import BIDI_CONTROLS, N_, ODD_TEXT, Problem, fold, nfc

AREA_COLUMNS = ("code", "name", "level", "parent_code")
HOUSEHOLD_COLUMNS = ("hamlet_code", "code", "head_name", "address", "size")
_REQUIRED = {
    "areas": ("code", "name", "level"),
    "households": ("hamlet_code", "code", "head_name"),
    # db/services/movement_import.py
    "organizations": ("commune_code", "code", "kind", "name"),
    "models": ("unit_code", "type", "name"),
}
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
MAX_REPORTED = 50


@dataclass
class Row:
    """One CSV data row: its line number in the file and its cells (NFC, trimmed)."""

    line: int
    cells: dict[str, str]


@dataclass
class ImportFailed(Exception):
    """The file had bad rows; nothing of it was imported."""

    problems: list[tuple[int, Problem]] = field(default_factory=list)
    total: int = 0

    def add(self, line: int, message: str, **params: object) -> None:
        """Note a bad row; the MAX_REPORTED first lines of the file are kept, in line order
        (rows are checked in passes, so they are not noted in order)."""
        bisect.insort(self.problems, (line, Problem(message, **params)), key=lambda problem: problem[0])
        del self.problems[MAX_REPORTED:]
        self.total += 1


@dataclass
class ImportSummary:
    """What an import did."""

    created: int = 0
    updated: int = 0


def read_csv(path: Path, kind: str) -> list[Row]:
    """Read a UTF-8 CSV (a BOM is fine) whose header has at least the kind's required columns."""
    failed = ImportFailed()
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        failed.add(line, N_("Tệp không phải UTF-8 (byte lạ ở dòng này). Hãy lưu lại dưới dạng CSV UTF-8."))
        raise failed from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [nfc(name).lower() for name in reader.fieldnames or []]
    missing = [name for name in _REQUIRED[kind] if name not in header]
    if missing:
        failed.add(1, N_("Thiếu cột: {columns}."), columns=", ".join(missing))
        raise failed
    reader.fieldnames = header
    rows = []
    for cells in reader:
        if None in cells:
            failed.add(reader.line_num, N_("Dòng có nhiều ô hơn tiêu đề."))
            continue
        cleaned = {key: nfc(value or "") for key, value in cells.items()}
        if any(cleaned.values()):
            rows.append(Row(reader.line_num, cleaned))
    if failed.problems:
        raise failed
    return rows


async def import_areas(session: AsyncSession, rows: list[Row]) -> ImportSummary:
    """Create or rename areas; parents may come later in the file. Raises ImportFailed."""
    failed, summary = ImportFailed(), ImportSummary()
    known = {area.code: area for area in await session.scalars(select(Area))}
    pending: list[Row] = []
    seen: set[str] = set()
    for row in rows:
        code, name, level = row.cells["code"].upper(), row.cells["name"], row.cells["level"].lower()
        row.cells.update(code=code, level=level, parent_code=row.cells.get("parent_code", "").upper())
        if not CODE.match(code):
            failed.add(row.line, N_("Mã địa bàn không hợp lệ: “{code}”."), code=code)
        elif code in seen:
            failed.add(row.line, N_("Mã {code} xuất hiện hai lần trong tệp."), code=code)
        elif not name or len(name) > 200:
            failed.add(row.line, N_("Tên địa bàn phải có từ 1 đến 200 ký tự."))
        else:
            seen.add(code)
            pending.append(row)
    while pending:
        waiting = []
        for row in pending:
            parent_code = row.cells.get("parent_code", "")
            if parent_code and parent_code not in known:
                waiting.append(row)
                continue
            parent = known.get(parent_code) if parent_code else None
            await _import_area_row(session, row, parent, known, failed, summary)
        if len(waiting) == len(pending):
            for row in waiting:
                failed.add(row.line, N_("Không tìm thấy địa bàn cấp trên mã {code}."),
                           code=row.cells["parent_code"])
            break
        pending = waiting
    if failed.problems:
        raise failed
    return summary


async def _import_area_row(
    session: AsyncSession,
    row: Row,
    parent: Area | None,
    known: dict[str, Area],
    failed: ImportFailed,
    summary: ImportSummary,
) -> None:
    code, name, level = row.cells["code"], row.cells["name"], row.cells["level"]
    try:
        check_parent(level, parent)
    except Problem as problem:
        failed.add(row.line, problem.message, **problem.params)
        return
    existing = known.get(code)
    if existing is None:
        known[code] = await add_area(session, code, name, level, parent)
        summary.created += 1
    elif existing.level != level or existing.parent_id != (parent.id if parent else None):
        failed.add(row.line, N_("Địa bàn {code} đã có với cấp hoặc cấp trên khác; không thể chuyển."),
                   code=code)
    elif existing.name != name:
        existing.name = name
        summary.updated += 1


async def import_households(session: AsyncSession, rows: list[Row]) -> ImportSummary:
    """Create or update households of existing hamlets. Raises ImportFailed."""
    failed, summary = ImportFailed(), ImportSummary()
    hamlets = {
        area.code: area for area in await session.scalars(select(Area).where(Area.level == "hamlet"))
    }
    existing = {
        (hamlet_id, code): household_id
        for household_id, hamlet_id, code in await session.execute(
            select(Household.id, Household.hamlet_id, Household.code)
        )
    }
    new, changed, seen = [], [], set()
    for row in rows:
        values = _household_values(row, hamlets, failed)
        if values is None:
            continue
        key = (values["hamlet_id"], values["code"])
        if key in seen:
            failed.add(row.line, N_("Hộ mã {code} xuất hiện hai lần trong tệp."), code=values["code"])
            continue
        seen.add(key)
        if key in existing:
            changed.append({"id": existing[key], **values})
        else:
            new.append(values)
    if failed.problems:
        raise failed
    if new:
        await session.execute(insert(Household), new)
    if changed:
        await session.execute(update(Household), changed)
    summary.created, summary.updated = len(new), len(changed)
    return summary


def _household_values(row: Row, hamlets: dict[str, Area], failed: ImportFailed) -> dict | None:
    cells = row.cells
    cells["code"] = cells["code"].upper()
    hamlet = hamlets.get(cells["hamlet_code"].upper())
    size_text = cells.get("size", "") or "1"
    if hamlet is None:
        failed.add(row.line, N_("Không có ấp/khóm mã {code}."), code=cells["hamlet_code"])
    elif not CODE.match(cells["code"]):
        failed.add(row.line, N_("Mã hộ không hợp lệ: “{code}”."), code=cells["code"])
    elif not cells["head_name"] or len(cells["head_name"]) > 200:
        failed.add(row.line, N_("Tên chủ hộ phải có từ 1 đến 200 ký tự."))
    elif len(cells.get("address", "")) > 300:
        failed.add(row.line, N_("Địa chỉ dài quá 300 ký tự."))
    elif BIDI_CONTROLS & set(cells["head_name"] + cells.get("address", "")):
        # Shown to hamlet heads and residents: it must read as it is stored.
        failed.add(row.line, ODD_TEXT)
    elif not (size_text.isascii() and size_text.isdigit()) or not 1 <= int(size_text) <= 99:
        failed.add(row.line, N_("Số nhân khẩu phải là số từ 1 đến 99, không phải “{size}”."),
                   size=size_text)
    else:
        return {
            "hamlet_id": hamlet.id,
            "code": cells["code"],
            "head_name": cells["head_name"],
            "head_name_key": fold(cells["head_name"]),
            "address": cells.get("address", ""),
            "size": int(size_text),
        }
    return None
