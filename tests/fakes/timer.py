"""A timer that never really sleeps: deadlines and backoff in tests take no wall time."""

from __future__ import annotations

from datetime import timedelta

from certsvc.clock import FixedClock


class FakeTimer:
    """Monotonic time moves only when something sleeps; the domain clock moves with it."""

    def __init__(self, clock: FixedClock | None = None) -> None:
        self.elapsed = 0.0
        self.sleeps: list[float] = []
        self.clock = clock

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.elapsed += seconds
        if self.clock is not None:
            self.clock.advance(timedelta(seconds=seconds))
