"""The APScheduler job store's table, declared here so that the migrations create it.

APScheduler's SQLAlchemyJobStore would create it on start; declaring the same columns here lets
Alembic own it like every other table (the store then finds it and creates nothing).
"""

from sqlalchemy import Column, Float, LargeBinary, Table, Unicode

from db.models.base import Base

SCHEDULER_JOBS_TABLE = "apscheduler_jobs"

scheduler_jobs = Table(
    SCHEDULER_JOBS_TABLE,
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
