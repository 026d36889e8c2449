"""The benchmarks' plumbing, in milliseconds: every module imports, registers its scenarios, and the
table `python -m bench` prints holds every figure. The benchmarks themselves never run in the suite."""

from __future__ import annotations

import importlib

import pytest

from bench.harness import SCENARIOS, Result, markdown, percentile, table

# Module -> the scenarios it registers. (Legacy scripts are left out: bot_eval alone imports for seconds.)
EXPECTED = {"jobs_throughput": {"jobs"}, "inbox_reports": {"inbox_list", "inbox_search", "report_summary"},
            "ws_fanout": {"ws_fanout"}}


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_scenario_modules_import_and_register(module: str) -> None:
    importlib.import_module(f"bench.{module}")
    assert {s.name for s in SCENARIOS.values() if s.module == module} == EXPECTED[module]


def test_percentiles_and_result_rows() -> None:
    seconds = [n / 1000 for n in range(1, 101)]  # 1..100 ms
    row = Result.from_seconds("x", "100 calls", seconds, throughput=50.0, ratio=2.0, met=False)
    assert (row.p50, row.p95, row.p99) == pytest.approx((51, 96, 100))
    assert percentile([], 0.5) != percentile([], 0.5)  # NaN: no data is not zero latency
    text = markdown([row, Result("y", "-", errors=1, note="failed")])
    assert "| x | 100 calls | 50 req/s | 51.0 | 96.0 | 100.0 | 0 |  | 2.00 |  | **no** |" in text
    assert table([row]).row_count == 1

