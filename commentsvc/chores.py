"""Housekeeping that a process does beside its work, at most once a period."""

from __future__ import annotations

HOURLY = 3600.0


class Every:
    """Says a chore is due at most once every `seconds` in this process (a monotonic clock)."""

    def __init__(self, seconds: float = HOURLY):
        self.seconds = seconds
        self.last = float("-inf")

    def due(self, now: float) -> bool:
        """True, and the period starts again, when `seconds` have passed since the last time."""
        if now - self.last < self.seconds:
            return False
        self.last = now
        return True
