"""`make bench` / `python -m bench [scenario or module ...]`: run the benchmarks, print one table.

Every module in bench/ is imported; the scenarios it registers with `bench.harness.scenario` run in
this process, one after another, and each returns its rows (measured next to a reference in the same
run). A module that registers nothing is run as a script, its own output shown, and gets a row that
says so. Needs PostgreSQL (NEXA_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test)
and, for fan-out across processes, Redis (NEXA_BENCH_REDIS_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import subprocess
import sys
import time
import traceback

from bench.harness import ROOT, SCENARIOS, Context, Result, markdown, print_table

HERE = ROOT / "bench"
NOT_BENCHMARKS = {"harness", "datagen"}


def discover() -> tuple[list[str], dict[str, str]]:
    """Import every benchmark module; returns the legacy scripts and the modules that failed to import."""
    legacy: list[str] = []
    broken: dict[str, str] = {}
    for path in sorted(HERE.glob("*.py")):
        stem = path.stem
        if stem.startswith("_") or stem in NOT_BENCHMARKS:
            continue
        try:
            importlib.import_module(f"bench.{stem}")
        except Exception as error:  # one half-written module must not hide every other figure
            broken[stem] = f"{type(error).__name__}: {error}"
            continue
        if not any(s.module == stem for s in SCENARIOS.values()):
            legacy.append(stem)
    return legacy, broken


def run_legacy(stem: str) -> Result:
    print(f"\n== {stem} (own output) ==", flush=True)
    started = time.perf_counter()
    code = subprocess.run([sys.executable, str(HERE / f"{stem}.py")], cwd=ROOT, check=False).returncode
    return Result(stem, "script defaults", errors=int(code != 0),
                  note=f"figures in its own output above ({time.perf_counter() - started:.0f} s)")


async def run_scenario(name: str, context: Context) -> list[Result]:
    print(f"\n== {name} ==", flush=True)
    started = time.perf_counter()
    try:
        rows = await SCENARIOS[name].run(context)
    except Exception:
        traceback.print_exc()
        return [Result(name, "-", errors=1, note="scenario failed, traceback above")]
    print(f"   {time.perf_counter() - started:.1f} s", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    legacy, broken = discover()
    names = [*SCENARIOS, *legacy]
    lines = "\n".join(f"  {s.name:<18} ({s.module}) {s.help}" for s in SCENARIOS.values())
    lines += "".join(f"\n  {stem:<18} (script, own output)" for stem in legacy)
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"scenarios:\n{lines}",
    )
    parser.add_argument("only", nargs="*", metavar="scenario", help="scenario or module names (default: all)")
    parser.add_argument("--quick", action="store_true", help="toy sizes: checks that every scenario runs, measures nothing")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    parser.add_argument("--large-database", default=Context.large_database,
                        help="database holding bench/datagen.py's large data set (made if missing)")
    options = parser.parse_args(argv)

    unknown = [name for name in options.only if name not in names and not any(s.module == name for s in SCENARIOS.values())
               and name not in broken]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    wanted = options.only or names + list(broken)

    context = Context(quick=options.quick, large_database=options.large_database)
    rows: list[Result] = []
    for stem, error in broken.items():
        if stem in wanted:
            rows.append(Result(stem, "-", errors=1, note=f"does not import: {error}"))
    # A name is a scenario's first, a module's only when no scenario has it (bench/inbox_list.py holds inbox_page).
    modules = {name for name in wanted if name not in SCENARIOS}
    for scenario in SCENARIOS.values():
        if scenario.name in wanted or scenario.module in modules:
            rows += asyncio.run(run_scenario(scenario.name, context))
    for stem in legacy:
        if stem in wanted:
            rows.append(Result(stem, "-", note="not run with --quick") if options.quick else run_legacy(stem))

    print_table(rows)
    if options.markdown:
        print(markdown(rows))
    return 1 if any(row.errors for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
