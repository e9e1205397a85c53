"""``certsvc scheduler``: APScheduler wiring for the nightly job and the outbox drain.

The nightly job runs on a cron trigger in the business time zone and once at start-up
(a restart after a missed night catches up at once; the job itself knows which dates are
done, so the extra run is harmless). ``coalesce`` folds a backlog of missed firings into
one run and ``misfire_grace_time`` lets a late firing still run. Every firing first asks
the leader lock, so of several instances exactly one acts. Work that falls in the
maintenance window waits for its end: the nightly job is re-scheduled to the end, the
drain skips its ticks.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from certsvc.app import Services
from certsvc.logging import get_logger
from certsvc.notify.drain import DrainReport
from scheduler.jobs import NightlyParts, NightlyReport, run_nightly
from scheduler.leader import LeaderLock, leader_lock_for

log = get_logger("scheduler.daemon")
NIGHTLY_JOB, DEFERRED_JOB, DRAIN_JOB = "nightly", "nightly-deferred", "outbox-drain"


def nightly_parts(services: Services) -> NightlyParts:
    """The parts the nightly job uses, taken from the composition root (entry points only)."""
    return NightlyParts(
        services.lifecycle.parts, services.maintenance, services.crls, services.outbox
    )


class SchedulerDaemon:
    """The jobs of one scheduler instance, gated by the leader lock."""

    def __init__(self, services: Services, leader: LeaderLock, scheduler: BaseScheduler) -> None:
        self.services = services
        self.leader = leader
        self.scheduler = scheduler

    def install(self, *, run_at_start: bool = True) -> None:
        """Add the cron nightly job and the interval drain job."""
        rules = self.services.settings.scheduler
        zone = self.services.settings.zone
        hour, minute = (int(part) for part in rules.nightly_at.split(":"))
        common = {
            "coalesce": True,
            "misfire_grace_time": rules.misfire_grace_seconds,
            "max_instances": 1,
            "replace_existing": True,
        }
        start = {"next_run_time": self.services.clock.now()} if run_at_start else {}
        self.scheduler.add_job(
            self.nightly_job,
            CronTrigger(hour=hour, minute=minute, timezone=zone),
            id=NIGHTLY_JOB,
            **start,
            **common,
        )
        self.scheduler.add_job(
            self.drain_job,
            IntervalTrigger(seconds=rules.drain_interval_seconds, timezone=zone),
            id=DRAIN_JOB,
            **common,
        )

    def nightly_job(self) -> NightlyReport | None:
        """The nightly run if this instance leads; None when another one does."""
        if not self.leader.acquire():
            log.info("scheduler.standby", job=NIGHTLY_JOB)
            return None
        report = run_nightly(nightly_parts(self.services))
        if report.deferred_until is not None:
            self.scheduler.add_job(
                self.nightly_job,
                DateTrigger(run_date=report.deferred_until),
                id=DEFERRED_JOB,
                replace_existing=True,
                misfire_grace_time=self.services.settings.scheduler.misfire_grace_seconds,
            )
        return report

    def drain_job(self) -> DrainReport | None:
        """Send due messages if this instance leads and no maintenance window is open."""
        if not self.leader.acquire():
            return None
        if self.services.maintenance.window_at(self.services.clock.now()) is not None:
            return None
        return self.services.outbox.drain()


def one_at_a_time() -> dict[str, ThreadPoolExecutor]:
    """One worker thread: the jobs share the leader lock's connection, so they take turns."""
    return {"default": ThreadPoolExecutor(max_workers=1)}


def start_in_background(services: Services) -> Callable[[], None]:
    """Run the scheduler on a background thread beside another service (``certsvc run``);
    returns the function that stops it and releases the leader lock."""
    scheduler = BackgroundScheduler(timezone=services.settings.zone, executors=one_at_a_time())
    leader = leader_lock_for(services.engine, services.settings)
    SchedulerDaemon(services, leader, scheduler).install()
    scheduler.start()
    log.info("scheduler.start", nightly_at=services.settings.scheduler.nightly_at)

    def stop() -> None:
        scheduler.shutdown(wait=False)
        leader.release()
        log.info("scheduler.stop")

    return stop


def run_forever(services: Services) -> None:
    """Block running the scheduler until SIGINT/SIGTERM; the leader lock goes with us."""
    scheduler = BlockingScheduler(timezone=services.settings.zone, executors=one_at_a_time())
    leader = leader_lock_for(services.engine, services.settings)
    SchedulerDaemon(services, leader, scheduler).install()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    log.info("scheduler.start", nightly_at=services.settings.scheduler.nightly_at)
    try:
        scheduler.start()
    except KeyboardInterrupt:
        pass
    finally:
        leader.release()
        log.info("scheduler.stop")
