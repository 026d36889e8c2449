"""Hypothesis profiles: the suite runs a fixed, small set of examples (the same every run, seconds in all);
`pytest tests/fuzz --hypothesis-profile=deep` explores thousands more, differently each time, to hunt for
new cases (minutes)."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "suite", max_examples=60, deadline=1000, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("deep", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")
