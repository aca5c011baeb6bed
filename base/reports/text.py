"""Reports as CSV (every area of the subtree) and as a readable Markdown summary."""

import csv
import io

from aiogram.utils.i18n import gettext as _

from base.labels import LEVEL_LABELS
from base.reports.movement import Indicator, indicators
from base.reports.table import (
    HIDDEN_LABEL,
    SMALL_LABEL,
    TARGETED,
    Report,
    below_commune,
    columns,
    levels_below,
    row,
    shown,
    target_row,
    tips_by_kind,
    units_label,
    verdict,
)
from base.tip_labels import kind_label
from db.services import tallies as t
from db.services.self_management import STATUS_LABELS


def to_csv(report: Report) -> str:
    """One line per area (the root first), with its level and the area above it, and the share
    of the areas below meeting each target; UTF-8 with BOM for Excel."""
    cols = columns(parent=True, units=True, movement=True)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Cấp")] + [str(c.header) for c in cols])
    tallies = [report.tallies.root] + [x for _level, group in levels_below(report.tallies) for x in group]
    for tally in tallies:
        values = row(report.tallies, tally)
        writer.writerow([str(LEVEL_LABELS[tally.area.level])] + [shown(c, values.get(c.key)) for c in cols])
    return "\ufeff" + out.getvalue()


def to_markdown(report: Report) -> str:
    """The headline numbers against the targets, then a table of the children."""
    root, campaign = report.tallies.root, report.campaign
    values = row(report.tallies, root)
    targets = target_row(campaign)
    lines = [f"# {report.title}", "",
             _("Số liệu ngày {date}. Đợt thi đua: {name}.").format(
                 date=report.made_on.strftime("%d/%m/%Y"), name=campaign.name), ""]
    lines.append(_("- Số hộ: {count}; hộ dùng Bình Yên: {on_bot}").format(
        count=values[t.HOUSEHOLDS], on_bot=values[t.ON_BOT]))
    units = units_label(report.tallies, root)
    for key, prefix in TARGETED:
        label = _("Hộ được tuyên truyền") if key == t.REACHED else _("Hộ ký cam kết")
        lines.append(_("- {label}: {count} ({share}%), chỉ tiêu {target}% — {verdict}").format(
            label=label, count=values[key], share=shown_pct(values[f"{prefix}_pct"]),
            target=shown_pct(targets[f"{prefix}_pct"]), verdict=verdict(values[f"{prefix}_met"])))
        if units:
            lines.append(_("  - {units} đạt chỉ tiêu này: {met}/{judged} ({share}%), mục tiêu {goal}% — {verdict}").format(
                units=units, met=values[f"{prefix}_units_met"], judged=values["units_judged"],
                share=shown_pct(values[f"{prefix}_units_pct"]),
                goal=shown_pct(campaign.targets.get(t.AREAS_GOAL)),
                verdict=verdict(values[f"{prefix}_units_goal"])))
    lines.append(_("- Lượt trả lời câu hỏi: {count}; điểm trung bình: {score}").format(
        count=values[t.QUIZ_ATTEMPTS],
        score="—" if values["quiz_score"] is None else f"{values['quiz_score']:.1f}%"))
    lines.append(_("- Tin báo nhận được: {received}; đã xử lý: {handled}").format(
        received=values[t.TIPS_RECEIVED], handled=values[t.TIPS_HANDLED]))
    lines.append(_("- Thông báo đã gửi: {broadcasts}; tin nhắn đã đến: {sent}; tỷ lệ gửi thành công: {share}").format(
        broadcasts=values[t.BROADCASTS], sent=values[t.DELIVERIES_SENT],
        share="—" if values["delivery_pct"] is None else f"{values['delivery_pct']:.1f}%"))
    lines += movement_markdown(report)
    lines += ["", "## " + _("Tin báo theo loại"), "",
              "| " + " | ".join((_("Loại"), _("Nhận được"), _("Đã xử lý"))) + " |", "|---|---|---|"]
    lines += [f"| {kind_label(kind)} | {received} | {handled} |"
              for kind, received, handled in tips_by_kind(root)]
    children = report.tallies.children_of(root)
    if children:
        cols = [c for c in columns() if c.key != "code"]
        lines += ["", "## " + _("Các địa bàn trực thuộc"), "",
                  "| " + " | ".join(str(c.header) for c in cols) + " |",
                  "|" + "---|" * len(cols)]
        for child in children:
            child_values = row(report.tallies, child)
            lines.append("| " + " | ".join(shown(c, child_values.get(c.key)) for c in cols) + " |")
    if below_commune(root.area.level) or any(below_commune(c.area.level) for c in children):
        lines += ["", small_count_note()]
    return "\n".join(lines) + "\n"


MAX_LISTED = 50


def indicator_line(indicator: Indicator) -> str:
    """One indicator in words: the count, the share, the target and the verdict."""
    if indicator.target is None and not indicator.every:
        return _("{label}: {count}/{total} ({share}%), không có chỉ tiêu").format(
            label=indicator.label, count=indicator.count, total=indicator.total, share=shown_pct(indicator.share))
    if indicator.every:
        target = _("mọi xã, phường")
    else:
        target = _("chỉ tiêu {target}%").format(target=shown_pct(indicator.target))
    return _("{label}: {count}/{total} ({share}%), {target} — {verdict}").format(
        label=indicator.label, count=indicator.count, total=indicator.total, share=shown_pct(indicator.share),
        target=target, verdict=verdict(indicator.met))


def movement_markdown(report: Report) -> list[str]:
    """The movement's indicators, the models by type and the models to review."""
    lines = ["", "## " + _("Công nhận “An toàn về ANTT”, đơn vị và mô hình"), ""]
    lines += ["- " + indicator_line(indicator) for indicator in indicators(report.tallies, report.tallies.root)]
    data = report.movement
    if data is None:
        return lines
    locale = current_locale()
    if data.by_type:
        lines += ["", "### " + _("Mô hình theo loại"), "",
                  "| " + " | ".join((_("Loại"), _("Mô hình"), _("Hiệu quả"), _("Tổ"), _("Điểm"), _("Thành viên")))
                  + " |", "|---|---|---|---|---|---|"]
        lines += [f"| {line.model_type.name(locale)} | {line.models} | {line.effective} | {line.groups} | "
                  f"{line.sites} | {line.members} |" for line in data.by_type]
    if data.to_review:
        lines += ["", "### " + _("Mô hình cần rà soát (hình thức, hoặc chưa rà soát năm {year})").format(
            year=report.campaign.year), ""]
        for model in data.to_review[:MAX_LISTED]:
            lines.append("- " + review_line(model, locale))
        if len(data.to_review) > MAX_LISTED:
            lines.append(_("- … và {count} mô hình khác (xem bảng tính xlsx).").format(
                count=len(data.to_review) - MAX_LISTED))
    return lines


def review_line(model, locale: str | None) -> str:
    """A model to review: its name, unit, status and last review."""
    unit = model.area.name if model.area is not None else model.organization.name
    reviewed = f"{model.reviewed_on:%d/%m/%Y}" if model.reviewed_on else _("chưa rà soát")
    return _("{name} ({unit}): {status}, rà soát gần nhất {reviewed}").format(
        name=model.name, unit=unit, status=_(STATUS_LABELS[model.status]), reviewed=reviewed)


def current_locale() -> str | None:
    """The language the report is written in."""
    from aiogram.utils.i18n import get_i18n

    try:
        return get_i18n().current_locale
    except LookupError:
        return None


def small_count_note() -> str:
    """Why some tip counts read "<5" (or "≥5")."""
    return _("“{small}”: dưới 5 tin báo (kể cả không có); “{hidden}”: từ 5 tin báo trở lên, ẩn theo "
             "một ô “{small}” đứng riêng. Ở cấp dưới xã số nhỏ được ẩn để không lộ người báo tin.").format(
        small=SMALL_LABEL, hidden=HIDDEN_LABEL)


def shown_pct(value: object) -> str:
    """A percentage with one decimal, or a dash."""
    return "—" if value is None else f"{float(value):.1f}"
