"""Time, injected so that timeouts and expiry can be tested with a controllable clock."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> int:
        """Seconds since the epoch."""
        ...


class SystemClock:
    def now(self) -> int:
        return int(time.time())
