"""Scheduled jobs (reminders, broadcasts, tally snapshots) and the rate-limited delivery worker."""
