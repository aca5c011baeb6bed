"""Demo data: a province → communes → hamlets with N households and a current campaign, once."""

from datetime import date

import pytest
from sqlalchemy import func, select

from bot.cli.main import main
from db.models import Area, Campaign, Household, Member
from db.services.campaigns import current_campaign
from db.services.demo import load_demo


async def test_demo_builds_the_tree_the_households_and_the_campaign(session):
    summary = await load_demo(session, households=250, year=2026, communes=3, hamlets_per_commune=4)
    assert (summary.communes, summary.hamlets, summary.households) == (3, 12, 250)
    levels = dict((await session.execute(
        select(Area.level, func.count()).group_by(Area.level))).all())
    assert levels == {"province": 1, "commune": 3, "hamlet": 12}
    assert await session.scalar(select(func.count()).select_from(Household)) == 250
    hamlet = await session.scalar(select(Area).where(Area.code == "DEMO-02-03"))
    campaign = await current_campaign(session, hamlet, date(2026, 8, 19))
    assert campaign.year == 2026
    assert campaign.targets["households_reached_pct"] == 70
    assert campaign.targets["households_pledged_pct"] == 100
    assert await current_campaign(session, hamlet, date(2027, 1, 2)) is None
    staff = dict((await session.execute(select(Member.user_id, Member.role))).all())
    assert staff == {"2": "hamlet_head", "3": "officer", "4": "admin"}


async def test_demo_loads_only_once(session):
    assert await load_demo(session, households=10, year=2026) is not None
    assert await load_demo(session, households=10, year=2026) is None
    assert await session.scalar(select(func.count()).select_from(Campaign)) == 1


def test_demo_from_the_command_line(database_url, monkeypatch, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    assert main(["demo-data", "--households", "40"]) == 0
    assert "40 hộ" in capsys.readouterr().out
    assert main(["demo-data", "--households", "40"]) == 0
    assert "đã có sẵn" in capsys.readouterr().out


@pytest.mark.parametrize("arguments", [["--hamlets", "0"], ["--communes", "0"], ["--households", "-3"],
                                       ["--households", "many"]])
def test_demo_counts_that_make_no_province_are_refused_and_load_nothing(database_url, monkeypatch, capsys,
                                                                         arguments):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    with pytest.raises(SystemExit) as refused:
        main(["demo-data", *arguments])
    assert refused.value.code == 2
    assert arguments[0] in capsys.readouterr().err
    assert main(["demo-data", "--households", "12"]) == 0  # it was not marked loaded
    assert "12 hộ" in capsys.readouterr().out
