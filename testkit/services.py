"""The PostgreSQL and Redis the tests may use: required in CI, skipped with a reason elsewhere."""

import os

import pytest
from redis.asyncio import Redis

POSTGRES_URL = os.environ.get("BINHYEN_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("BINHYEN_TEST_REDIS_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Fail in CI (the services must be there), skip on a developer machine."""
    if IN_CI:
        pytest.fail(f"CI needs this service: {reason}")
    pytest.skip(reason)


def postgres_url() -> str:
    """BINHYEN_TEST_POSTGRES_URL, or skip/fail."""
    if not POSTGRES_URL:
        unavailable("BINHYEN_TEST_POSTGRES_URL is not set")
    return POSTGRES_URL


def redis_url() -> str:
    """BINHYEN_TEST_REDIS_URL, or skip/fail."""
    if not REDIS_URL:
        unavailable("BINHYEN_TEST_REDIS_URL is not set")
    return REDIS_URL


async def flushed_redis() -> Redis:
    """A client of BINHYEN_TEST_REDIS_URL with its database emptied (keys of earlier runs, such
    as "done" update keys, must not answer for this test); skip/fail when unreachable."""
    client = Redis.from_url(redis_url())
    try:
        await client.flushdb()
    except OSError as error:
        await client.aclose()
        unavailable(f"Redis at BINHYEN_TEST_REDIS_URL is unreachable: {error}")
    return client
