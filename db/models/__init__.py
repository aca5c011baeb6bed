"""All models, imported here so that Alembic and the services see one metadata."""

from db.models.areas import LEVELS, Area
from db.models.base import Base, utcnow
from db.models.campaigns import SEED_TARGETS, Campaign
from db.models.households import Household
from db.models.members import CHANNELS, ROLES, Member
from db.models.outreach import QuizAttempt, Reading
from db.models.pledges import Pledge
from db.models.tallies import Tally
from db.models.tips import TIP_ENTRY_KINDS, TIP_KINDS, TIP_STATUSES, Tip, TipEntry, TipPhoto, TipRoute
from db.models.updates import ProcessedUpdate

__all__ = [
    "CHANNELS",
    "LEVELS",
    "ROLES",
    "SEED_TARGETS",
    "TIP_ENTRY_KINDS",
    "TIP_KINDS",
    "TIP_STATUSES",
    "Area",
    "Base",
    "Campaign",
    "Household",
    "Member",
    "Pledge",
    "ProcessedUpdate",
    "QuizAttempt",
    "Reading",
    "Tally",
    "Tip",
    "TipEntry",
    "TipPhoto",
    "TipRoute",
    "utcnow",
]
