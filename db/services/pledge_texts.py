"""Campaigns against the catalog's pledge texts: a campaign whose text is missing cannot pledge.

db/ knows nothing of content/ and content/ nothing of the database, so the two meet here.
"""

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from content.catalog import Catalog
from db.models import Campaign
from db.services.campaigns import all_campaigns
from db.session import make_read_sessionmaker
from db.text import N_, Problem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MissingPledgeText:
    """A campaign whose pledge version the catalog lacks in some languages."""

    campaign: Campaign
    languages: list[str]


def newest_pledge_version(catalog: Catalog) -> str:
    """The pledge version a new campaign takes; a Problem when the catalog has none complete."""
    version = catalog.newest_pledge_version()
    if version is None:
        raise Problem(N_("Kho nội dung chưa có văn bản cam kết nào đủ mọi ngôn ngữ "
                         "(content/pledges/<phiên bản>/): chưa tạo được chiến dịch."))
    return version


async def campaigns_missing_pledge_text(session: AsyncSession, catalog: Catalog) -> list[MissingPledgeText]:
    """Every campaign whose pledge text is missing in a language of the catalog."""
    found = []
    for campaign in await all_campaigns(session):
        languages = catalog.missing_pledge_languages(campaign.pledge_version)
        if languages:
            found.append(MissingPledgeText(campaign, languages))
    return found


async def warn_missing_pledge_texts(engine: AsyncEngine, catalog: Catalog) -> int:
    """Log a warning for each campaign whose pledge text is missing (its /pledge would say
    there is no text); returns how many. The bot still starts: the rest of it works."""
    async with make_read_sessionmaker(engine)() as session:
        missing = await campaigns_missing_pledge_text(session, catalog)
    for item in missing:
        campaign = item.campaign
        log.warning(
            "campaign %r (%s, %s) uses pledge text version %r, which the catalog lacks in %s: "
            "its households cannot pledge until content/pledges/%s/ has every language "
            "(see binhyen content check)",
            campaign.name, campaign.area.code, campaign.year, campaign.pledge_version,
            ", ".join(item.languages), campaign.pledge_version)
    return len(missing)
