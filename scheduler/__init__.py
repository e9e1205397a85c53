"""The scheduler: APScheduler wiring, the nightly job, the leader lock."""
