"""One process of the purge race: ``python -m tests.ops.purge_race URL START ROUNDS``.

At wall-clock ``START`` (seconds) it calls ``run_purge_if_due`` for ``ROUNDS`` days in a
row, each day at a fixed instant shared with the other racer, and prints one JSON list:
per day, the number purged (this process won the claim) or null (the other one did).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from portal.domain.jobs import DAY, run_purge_if_due
from portal.settings import Settings
from portal.storage.database import connect

# Far enough ahead that the demo's consultations are past their 180-day retention.
FIRST_DAY = int(time.time()) + 400 * DAY
ROUND_SECONDS = 0.05


class _Clock:
    def __init__(self) -> None:
        self.at = FIRST_DAY

    def now(self) -> int:
        return self.at


async def race(url: str, start: float, rounds: int) -> list[int | None]:
    db = await connect(url)
    clock = _Clock()
    settings = Settings(database_url=url, secret_key="purge-race-" + "r" * 40)
    results: list[int | None] = []
    try:
        for day in range(rounds):
            clock.at = FIRST_DAY - FIRST_DAY % DAY + day * DAY
            await asyncio.sleep(max(0.0, start + day * ROUND_SECONDS - time.time()))
            results.append(await run_purge_if_due(db, clock, settings))
    finally:
        await db.close()
    return results


if __name__ == "__main__":
    url, start, rounds = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(asyncio.run(race(url, start, rounds))))
