"""Durable background jobs: one `jobs` table, enqueued inside the caller's transaction.

Define jobs with `nexa.jobs.registry.job`, enqueue them with `nexa.jobs.enqueue.enqueue`,
run them with `nexa.jobs.worker.Worker`. See docs/jobs.md.
"""
