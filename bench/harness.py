"""What every benchmark scenario shares: its result row, the registry `python -m bench` runs, and the
parts of this machine a scenario starts (a throw-away PostgreSQL database, `nexa serve` processes).

A scenario is an async function registered with `@scenario(name, help)`; it gets a `Context` and
returns one `Result` per row of the table. It measures its own reference in the same run and sets
`ratio` = Nexa's figure / the reference's figure (throughput: higher is better, latency: lower is
better, the `unit` column says which). Scripts keep their own `main()` so `python bench/x.py` works
alone; `python -m bench` imports every module here and runs what registered.
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
ADMIN = {"email": "bench@example.com", "password": "bench password 1"}


@dataclass
class Result:
    """One row of the bench table. Latencies in milliseconds; `None` prints as blank."""

    scenario: str
    load: str
    throughput: float | None = None
    unit: str = "req/s"
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    errors: int = 0
    reference: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    @classmethod
    def from_seconds(cls, scenario: str, load: str, seconds: list[float], **fields: object) -> Result:
        """A row whose percentiles come from per-operation durations in seconds."""
        return cls(scenario, load, p50=percentile(seconds, 0.5) * 1000, p95=percentile(seconds, 0.95) * 1000,
                   p99=percentile(seconds, 0.99) * 1000, **fields)  # type: ignore[arg-type]


@dataclass
class Context:
    """What `python -m bench` hands every scenario."""

    database_url: str = field(default_factory=lambda: os.environ.get("NEXA_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    redis_url: str | None = field(default_factory=lambda: os.environ.get("NEXA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    # Toy sizes: the smoke test in tests/bench runs every scenario this way in well under a second each.
    quick: bool = False
    # The large data set made by bench/datagen.py (a database name next to database_url's); made if missing.
    large_database: str = "nexa_bench_large"


ScenarioFunction = Callable[[Context], Awaitable[list[Result]]]


@dataclass(frozen=True)
class Scenario:
    name: str
    help: str
    run: ScenarioFunction
    module: str


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, help: str) -> Callable[[ScenarioFunction], ScenarioFunction]:
    """Register a scenario for `python -m bench` (the module stays importable and runnable alone)."""

    def register(function: ScenarioFunction) -> ScenarioFunction:
        SCENARIOS[name] = Scenario(name, help, function, function.__module__.rsplit(".", 1)[-1])
        return function

    return register


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def table(rows: list[Result]) -> Table:
    """The bench table: one row per Result."""
    table = Table(title="Nexa benchmarks (ratio = Nexa / reference of the same run)", show_lines=False)
    for column in ("scenario", "load", "throughput", "p50 ms", "p95 ms", "p99 ms", "errors", "reference", "ratio",
                   "target", "met", "note"):
        table.add_column(column, justify="right" if column in {"throughput", "p50 ms", "p95 ms", "p99 ms", "errors",
                                                              "ratio"} else "left")
    for row in rows:
        throughput = "" if row.throughput is None else f"{row.throughput:,.0f} {row.unit}"
        met = {True: "yes", False: "[bold red]NO[/]", None: ""}[row.met]
        table.add_row(row.scenario, row.load, throughput, _number(row.p50), _number(row.p95), _number(row.p99),
                      str(row.errors), row.reference, _number(row.ratio, 2), row.target, met, row.note)
    return table


def markdown(rows: list[Result]) -> str:
    """The same table for docs/performance.md."""
    lines = ["| scenario | load | throughput | p50 ms | p95 ms | p99 ms | errors | reference | ratio | target | met |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        throughput = "" if row.throughput is None else f"{row.throughput:,.0f} {row.unit}"
        met = {True: "yes", False: "**no**", None: ""}[row.met]
        lines.append(f"| {row.scenario} | {row.load} | {throughput} | {_number(row.p50)} | {_number(row.p95)} | "
                     f"{_number(row.p99)} | {row.errors} | {row.reference} | {_number(row.ratio, 2)} | {row.target} | {met} |")
    return "\n".join(lines)


def print_table(rows: list[Result]) -> None:
    Console(width=max(Console().width, 200)).print(table(rows))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raise_fd_limit() -> None:
    """Lift this process's open-file limit to the hard limit: fan-out holds thousands of client sockets."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB, from /proc (Linux, no extra dependency)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """User + system CPU time a process has used so far, from /proc (Linux); with `reaped_children`, plus
    that of its children that have exited (PostgreSQL's postmaster holds its finished backends' time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    used = int(fields[11]) + int(fields[12])
    if reaped_children:
        used += int(fields[13]) + int(fields[14])
    return used / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time used so far by the local PostgreSQL server: every `postgres` process, and the backends that
    have exited. Comparable between two readings of one run only."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            name = text[text.index("(") + 1 : text.rindex(")")]
            if name == "postgres":
                parent = int(text.rsplit(")", 1)[1].split()[1])
                total += cpu_seconds(int(stat.parent.name), reaped_children=parent == 1)
        except (OSError, ValueError):
            continue  # exited while being read
    return total


def machine_cpu_seconds() -> float:
    """CPU time every core of the machine has spent busy so far (not idle, not waiting for the disk)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Database:
    """A PostgreSQL database next to the bench URL's: `dsn` for asyncpg, `url` for SQLAlchemy/Nexa."""

    name: str
    dsn: str
    url: str


def database_named(base_url: str, name: str) -> Database:
    base = make_url(base_url)
    return Database(name, _render(base.set(drivername="postgresql", database=name)),
                    _render(base.set(drivername="postgresql+asyncpg", database=name)))


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


async def admin_connection(base_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(_render(make_url(base_url).set(drivername="postgresql")))


@asynccontextmanager
async def scratch_database(base_url: str, prefix: str) -> AsyncIterator[Database]:
    """A fresh, empty database for one run, dropped afterwards even when the run fails."""
    database = database_named(base_url, f"{prefix}_{uuid.uuid4().hex[:8]}")
    admin = await admin_connection(base_url)
    try:
        await admin.execute(f'CREATE DATABASE "{database.name}"')
        yield database
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
        await admin.close()


class NexaServers:
    """`count` `nexa serve` processes on one database (the first migrates), stopped with SIGTERM."""

    def __init__(self, database_url: str, count: int = 1, *, worker: bool = False, redis_url: str | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        self.ports = [free_port() for _ in range(count)]
        self.worker = worker
        self.env = {
            **os.environ, "NEXA_DATABASE_URL": database_url, "NEXA_DATA_DIR": f"/tmp/nexa-bench-{uuid.uuid4().hex[:8]}",
            "NEXA_SECRET_KEY": "bench-secret-" + "x" * 32, "NEXA_ADMIN_EMAIL": ADMIN["email"],
            "NEXA_ADMIN_PASSWORD": ADMIN["password"], "NEXA_LOG_LEVEL": "WARNING", "NEXA_DATABASE_POOL_SIZE": "10",
            **(extra_env or {}),
        }
        self.env.pop("NEXA_REDIS_URL", None)
        if redis_url:
            self.env["NEXA_REDIS_URL"] = redis_url
        self.processes: list[subprocess.Popen[bytes]] = []

    async def start(self) -> NexaServers:
        for index, port in enumerate(self.ports):
            command = [sys.executable, "-m", "nexa.cli.main", "serve", "--port", str(port)]
            command += [] if self.worker else ["--no-worker"]
            command += ["--no-migrate"] if index else []
            self.processes.append(subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL))
            await wait_healthy(self.url(index))
        return self

    def stop(self) -> None:
        stop_processes(self.processes)

    def url(self, n: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[n % len(self.ports)]}"

    async def admin_headers(self) -> dict[str, str]:
        async with httpx.AsyncClient(base_url=self.url()) as client:
            response = await client.post("/api/v1/auth/login", json=ADMIN)
            response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def __aenter__(self) -> NexaServers:
        try:
            return await self.start()
        except BaseException:
            self.stop()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self.stop()


def stop_processes(processes: list[subprocess.Popen[bytes]], timeout: float = 20) -> None:
    """SIGTERM all, then wait for each; one that does not stop in time is killed."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def wait_healthy(url: str, seconds: float = 120) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(int(seconds * 10)):
            try:
                if (await client.get(f"{url}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy within {seconds:.0f} s")
