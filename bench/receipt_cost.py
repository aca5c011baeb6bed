"""Benchmark (not a test): what recovering receipt codes offline costs an attacker who holds the
database and BINHYEN_TIP_SECRET.

    .venv/bin/python bench/receipt_cost.py [--codes 20]

It times the lookup of a receipt code exactly as the bot computes it (argon2id, 64 MiB), for a
16-digit code and for a 12-digit code of before migration 0009 (its HMAC, stretched), on one
core, and the old HMAC alone for comparison. Then the whole code space: one pass over it finds
every tip's code at once (each guess is compared with every stored tip), so this is the cost
of the whole attack, in core-years (memory-hard: a GPU or ASIC gains far less than on an HMAC).
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.services.tip_sealing import (  # noqa: E402
    CODE_DIGITS,
    LEGACY_CODE_DIGITS,
    TipKeys,
    code_lookup,
    legacy_hmac,
    new_key_pair,
    new_receipt_code,
)

YEAR = 365.25 * 24 * 3600


def seconds_per(function, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        function()
    return (time.perf_counter() - start) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=20, help="derivations to time (each ~70 ms)")
    args = parser.parse_args()
    keys = TipKeys(new_key_pair().public_key, b"a secret the attacker holds")
    code = new_receipt_code()
    per_code = seconds_per(lambda: code_lookup(keys, code), args.codes)
    per_legacy = seconds_per(lambda: code_lookup(keys, code[:LEGACY_CODE_DIGITS]), args.codes)
    per_hmac = seconds_per(lambda: legacy_hmac(keys, code[:LEGACY_CODE_DIGITS]), 200_000)
    print(f"one lookup, {CODE_DIGITS} digits: {per_code * 1000:.1f} ms and 64 MiB of one core")
    print(f"one lookup, {LEGACY_CODE_DIGITS} digits (stretched HMAC): {per_legacy * 1000:.1f} ms")
    print(f"the HMAC alone (before 0009): {1 / per_hmac / 1e6:.1f} M codes/s on one core")
    for digits, per in ((CODE_DIGITS, per_code), (LEGACY_CODE_DIGITS, per_legacy),
                        (LEGACY_CODE_DIGITS, per_hmac)):
        whole = 10**digits * per
        label = "HMAC only" if per is per_hmac else "argon2id"
        print(f"whole space of {digits} digits ({label}): {whole / YEAR:,.1f} core-years "
              f"({whole / 3600:,.0f} core-hours); half of it finds a given code on average")


if __name__ == "__main__":
    main()
