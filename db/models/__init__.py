"""All models, imported here so that Alembic and the services see one metadata."""

from db.models.areas import LEVELS, Area
from db.models.base import Base, utcnow
from db.models.broadcasts import BROADCAST_STATUSES, Broadcast
from db.models.campaigns import SEED_TARGETS, Campaign
from db.models.desk import AuditEntry, DeskLink, DeskSession
from db.models.deliveries import DELIVERY_STATUSES, FINAL_STATUSES, Delivery
from db.models.households import Household
from db.models.members import CHANNELS, ROLES, Member
from db.models.milestones import AUDIENCES, MILESTONE_KINDS, Milestone, Reminder
from db.models.organizations import ORGANIZATION_KINDS, Organization, OrganizationRegistration
from db.models.outreach import QuizAttempt, Reading
from db.models.pledges import Pledge
from db.models.recognition import (
    RECOGNITION_STATUSES,
    RESULTS,
    UNIT_KINDS,
    CriterionCheck,
    Recognition,
    RecognitionCriterion,
)
from db.models.scheduler_jobs import SCHEDULER_JOBS_TABLE, scheduler_jobs
from db.models.self_management import MODEL_STATUSES, ModelType, MovementModel
from db.models.tallies import Tally
from db.models.tips import (
    TIP_ENTRY_KINDS,
    TIP_KINDS,
    TIP_STATUSES,
    Tip,
    TipEntry,
    TipPhoto,
    TipRoute,
    WrongCodeMinute,
)
from db.models.updates import KeptReply, ProcessedUpdate

__all__ = [
    "AUDIENCES",
    "BROADCAST_STATUSES",
    "DELIVERY_STATUSES",
    "FINAL_STATUSES",
    "MILESTONE_KINDS",
    "MODEL_STATUSES",
    "ORGANIZATION_KINDS",
    "RECOGNITION_STATUSES",
    "RESULTS",
    "UNIT_KINDS",
    "CriterionCheck",
    "ModelType",
    "MovementModel",
    "Organization",
    "OrganizationRegistration",
    "Recognition",
    "RecognitionCriterion",
    "SCHEDULER_JOBS_TABLE",
    "AuditEntry",
    "Broadcast",
    "DeskLink",
    "DeskSession",
    "Delivery",
    "Milestone",
    "Reminder",
    "scheduler_jobs",
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
    "KeptReply",
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
    "WrongCodeMinute",
    "utcnow",
]
