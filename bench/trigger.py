"""REST trigger throughput and latency: ``POST /api/v1/flows/{slug}/executions`` with ``wait``, over HTTP.

The flow has one mapping step that adds a field to the payload; every request waits for the result
and gets it in the response (the shape peers are measured on). The app is served as ``make run``
serves it (gunicorn, threads, ``DEBUG`` off) but on PostgreSQL and Redis (``DATABASE_URL``,
``REDIS_URL``; Redis is also the Celery broker) with a real Celery worker process. Each of 1 and
10 concurrent clients (threads with keep-alive connections; ``BENCH_CLIENTS=1,10`` to choose) runs
for ``BENCH_SECONDS`` (10 s) after a short warm-up. Prints executions per second and p50/p99 latency, checks that every
execution answered was stored with its StepRun, and splits the latency into where the time goes:
web in (request to the execution row), the Celery hop (row to a worker starting it), the engine
(start to finish; "of it steps" is the steps' own recorded time) and back out (finish to the client
reading the answer). Last, the CPU time gunicorn ("web") and the Celery worker used per execution:
unlike latency, it hardly moves when other programs share the machine.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/erpflow REDIS_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/python bench/trigger.py

With ``wrk`` on the PATH (Debian's ``wrk`` package) the load comes from wrk instead (``BENCH_TOOL=python``
keeps the Python clients and their split of the latency): the figures issue #18 tracks, req/s at 10
clients and p50 at 1 client. Each run is made twice in the same invocation: eager execution on (the
web process runs the flow itself, ``flows.eager``) and off (``ERPFLOW_EAGER_EXECUTION=0``: every
execution through Celery), and CPU per execution is printed for web, worker, and the PostgreSQL and
Redis servers (those two are shared with whatever else runs on the machine: a quiet machine gives
the honest figure). ``BENCH_MODES=eager`` or ``=celery`` runs one of the two; ``BENCH_WORKER_THREADS``
sets the threads of each Celery worker process (8, as ``ERPFLOW_WORKER_CONCURRENCY`` does);
``BENCH_WEB_WORKERS`` and ``BENCH_WEB_THREADS`` gunicorn's processes and threads (2 and 8, the
settings issue #18 measured peers with; ``bench/peers.py`` serves its trivial view with the same).

Figures are printed, never asserted: they depend on the machine.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import _profile  # noqa: E402 - the repository root is on the path now

BIN = Path(sys.executable).parent
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
WARMUP_SECONDS = 1.0
CLIENTS = tuple(int(n) for n in os.environ.get("BENCH_CLIENTS", "1,10").split(","))
TOOL = os.environ.get("BENCH_TOOL") or ("wrk" if shutil.which("wrk") else "python")
MODES = {"eager": "1", "celery": "0"}  # the value of ERPFLOW_EAGER_EXECUTION in each
CHOSEN_MODES = tuple(os.environ.get("BENCH_MODES", "eager,celery").split(","))
PROFILE = os.environ.get("BENCH_PROFILE") == "1"  # py-spy the web processes at the most clients (bench/_profile.py)
WAIT = 30
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "2"))
WEB_THREADS = int(os.environ.get("BENCH_WEB_THREADS", "8"))
WORKER_THREADS = int(os.environ.get("BENCH_WORKER_THREADS", "8"))
ADD_FIELD = {
    "steps": [
        {
            "id": "add",
            "kind": "mapping",
            "name": "Add field",
            "instruction": '$merge([trigger.payload, {"seen": true}])',
            "position": {"x": 0, "y": 0},
        }
    ],
    "edges": [],
}


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    if not (settings.DATABASES["default"]["ENGINE"].endswith("postgresql") and settings.REDIS_URL):
        sys.exit("bench/trigger.py needs DATABASE_URL=postgresql://... and REDIS_URL=redis://...")
    settings.DEBUG = False
    call_command("migrate", verbosity=0, interactive=False)
    keep_history()
    vacuum()


HISTORY = int(os.environ.get("BENCH_HISTORY", "20000"))
HISTORY_NAME = "history"  # its organization is "history benchmark" (``create_fixture``)


def keep_history() -> None:
    """Make sure the executions table holds ``HISTORY`` finished executions (``BENCH_HISTORY``, 20,000),
    each with its step record, in an organization of their own that stays between runs: the history
    any installation in use has.

    Measured on an empty table, the benchmark measured a state no installation stays in. VACUUM
    ANALYZE of an empty table tells PostgreSQL it holds nothing, so a connection plans its prepared
    finish (``UPDATE ... WHERE id = $1``) and the foreign-key check of each step record as scans of
    the whole table, and keeps those plans. Autovacuum analyzes a growing table again and the plans
    are made anew; where autovacuum is off (on this kind of test machine) every execution of a run
    read every row the run had written before it: 148,354 sequential scans reading 454 million rows
    in a day of benchmarks, and a waited trigger's p50 at 1 client of 3.5 ms instead of 2.2 ms."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from accounts.models import Organization
    from flows.models import Execution, StepRun

    organization = Organization.objects.filter(name=f"{HISTORY_NAME} benchmark").first()
    if organization is not None:
        if Execution.objects.filter(organization=organization).count() >= HISTORY:
            return
        user = get_user_model().objects.filter(memberships__organization=organization).first()
        Fixture(organization, user, None, "", 0).remove()  # a history cut short: made again
    fixture = create_fixture(HISTORY_NAME, ADD_FIELD)
    deployment = fixture.flow.deployments.get()
    now = timezone.now()
    for start in range(0, HISTORY, 2000):
        executions = Execution.objects.bulk_create(
            Execution(
                organization=fixture.organization,
                flow=fixture.flow,
                version=deployment.version,
                environment=deployment.environment,
                trigger=Execution.Trigger.API,
                status=Execution.Status.SUCCEEDED,
                input={"payload": {"order": n}, "headers": {}, "query": {}},
                output={"order": n, "seen": True},
                correlation_id=uuid.uuid4().hex,
                attempts=1,
                created=now - timedelta(minutes=n),
                started=now - timedelta(minutes=n),
                finished=now - timedelta(minutes=n) + timedelta(milliseconds=2),
                heartbeat=now - timedelta(minutes=n),
            )
            for n in range(start, min(start + 2000, HISTORY))
        )
        StepRun.objects.bulk_create(
            StepRun(
                execution=execution,
                position=1,
                step_id="add",
                name="Add field",
                kind="mapping",
                status=StepRun.Status.SUCCEEDED,
                output=execution.output,
                started=execution.started,
                finished=execution.finished,
                duration_ms=0.1,
            )
            for execution in executions
        )


def vacuum() -> None:
    """VACUUM ANALYZE the tables every run fills and empties again, as autovacuum would between runs.

    Where autovacuum is off (it is on this kind of test machine), each run's deleted executions
    stay in the tables and their indexes as dead rows, and every later run reads past them: the
    figures then sink from run to run with nothing in the code changed."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("flows_execution", "flows_steprun"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Fixture:
    """What a benchmark created in the database, removed again by ``remove``."""

    organization: object
    user: object
    flow: object
    token: str
    steps: int

    def remove(self) -> None:
        from flows.deletion import delete_flow
        from flows.models import Flow

        for flow in Flow.objects.filter(organization=self.organization):
            delete_flow(flow)
        self.organization.delete()
        if self.user is not None:
            self.user.delete()


def create_fixture(name: str, graph: dict, prepare: Callable | None = None) -> Fixture:
    """An organization, an editor with an ``executions:run`` token, and ``graph`` deployed to the sandbox."""
    from django.contrib.auth import get_user_model

    from accounts.choices import Scope
    from accounts.models import ApiToken, Environment, Organization
    from flows import versions
    from flows.models import Flow

    user = get_user_model().objects.create_user(username=f"bench-{uuid.uuid4().hex[:10]}")
    organization = Organization.create(f"{name} benchmark", owner=user)
    sandbox = Environment.objects.get(organization=organization, slug="sandbox")
    if prepare is not None:
        graph = prepare(organization, sandbox)
    flow = Flow.objects.create(organization=organization, name=name, slug="bench")
    problems = versions.save_draft(flow, graph, user)
    if problems:
        raise SystemExit(f"the benchmark flow is invalid: {[p.message for p in problems]}")
    versions.deploy(flow, versions.publish(flow, user, "bench"), sandbox, user)
    _, token = ApiToken.issue(organization=organization, user=user, name="bench", scopes=[Scope.EXECUTIONS_RUN])
    return Fixture(organization, user, flow, token, len(graph["steps"]))


def cpu_seconds(root: int) -> float:
    """User and system CPU time used so far by process ``root`` and its descendants (Linux ``/proc``).

    CPU per execution, unlike latency, barely changes when other programs load the machine. A child
    that exited (a PostgreSQL backend whose client disconnected) is counted in its parent's
    children's times, which are added, so the sum never drops when one ends."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = sum(int(value) for value in fields[11:15]) / tick  # utime, stime, cutime, cstime
    family, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in family} - family
        family |= more
        grew = bool(more)
    return sum(times.get(pid, 0.0) for pid in family)


@contextmanager
def serving(log_dir: Path, extra_env: dict | None = None, worker_processes: int = 1):
    """gunicorn and Celery workers (one process unless told), on a free port and a queue of their own;
    yields the port and the process id of each (``web``, ``worker``, ``worker-2``, ...). ``extra_env``
    is added to every process's environment."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.REDIS_URL,
        "ERPFLOW_EXECUTION_QUEUE": f"bench-{uuid.uuid4().hex[:10]}",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "ERPFLOW_ENCRYPTION_KEYS": ",".join(settings.ERPFLOW_ENCRYPTION_KEYS),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "ERPFLOW_VAR_DIR": str(log_dir / "var"),
        "LOG_LEVEL": "WARNING",
        # The rate limits (still checked, at their cost) must not refuse a benchmark's load.
        "ERPFLOW_RATE_LIMIT_ORGANIZATION": "100000000",
        "ERPFLOW_RATE_LIMIT_TOKEN": "100000000",
        **(extra_env or {}),
    }
    commands = {
        ("worker" if n == 1 else f"worker-{n}"): [
            str(BIN / "celery"), "-A", "config", "worker", "-Q", env["ERPFLOW_EXECUTION_QUEUE"], "-P", "threads",
            "-c", str(WORKER_THREADS), "-n", f"bench-{port}-{n}@%h", "--without-gossip", "--without-mingle",
            "--without-heartbeat", "--loglevel", "WARNING",
        ]
        for n in range(1, worker_processes + 1)
    } | {
        "web": [
            str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(WEB_WORKERS),
            "--threads", str(WEB_THREADS), "--log-level", "warning",
        ],
    }  # fmt: skip
    processes = []
    try:
        for name, command in commands.items():
            log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
            processes.append((subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log))
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or any(p.poll() is not None for p, _ in processes):
                    raise SystemExit("gunicorn or the worker did not start; see " + str(log_dir)) from None
                time.sleep(0.1)
        yield port, {name: process.pid for name, (process, _) in zip(commands, processes, strict=True)}
    finally:
        for process, log in processes:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            log.close()


@dataclass
class Sample:
    sent: float  # wall clock, seconds
    received: float
    execution_id: int


@dataclass
class Run:
    clients: int
    seconds: float
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def drive(port: int, fixture: Fixture, clients: int, seconds: float, check: Callable[[dict, int], bool]) -> Run:
    """``clients`` threads, each posting with ``wait`` back to back on one keep-alive connection."""
    run = Run(clients, seconds)
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    path = f"/api/v1/flows/{fixture.flow.slug}/executions"
    headers = {"Authorization": f"Bearer {fixture.token}", "Content-Type": "application/json"}

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT + 10)
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            body = json.dumps({"environment": "sandbox", "wait": WAIT, "payload": {"client": index, "n": n}})
            sent = time.time()
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    run.errors.append(f"{type(exc).__name__}: {exc}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT + 10)
                continue
            try:
                data = json.loads(raw)
            except ValueError:
                with lock:
                    run.errors.append(f"HTTP {response.status}, not JSON: {raw[:120]!r}")
                continue
            received = time.time()
            with lock:
                if response.status == 200 and check(data, n):
                    run.samples.append(Sample(sent, received, data["id"]))
                else:
                    run.errors.append(f"HTTP {response.status}: {json.dumps(data)[:200]}")
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return run


def percentile(values: list[float], fraction: float) -> float:
    from flows.monitoring import percentile as interpolated

    return interpolated(values, fraction) or 0.0


def report(label: str, run: Run, steps: int, cpu: dict[str, float]) -> None:
    """Throughput, latency, persistence, where the time goes and the CPU used, for one client count."""
    from flows.models import Execution, StepRun

    latencies = [(s.received - s.sent) * 1000 for s in run.samples]
    print(
        f"{label}: {run.clients:>2} client{'s' if run.clients > 1 else ' '}  "
        f"{len(run.samples) / run.seconds:8.1f} executions/s   "
        f"p50 {percentile(latencies, 0.5):7.2f} ms   p99 {percentile(latencies, 0.99):7.2f} ms   "
        f"({len(run.samples)} executions, {len(run.errors)} errors)"
    )
    for error in run.errors[:3]:
        print(f"    error: {error}")
    ids = [s.execution_id for s in run.samples]
    stored = {
        row["pk"]: row
        for row in Execution.objects.filter(pk__in=ids).values("pk", "status", "created", "started", "finished")
    }
    step_time: dict[int, float] = {}
    for execution_id, duration in StepRun.objects.filter(execution_id__in=ids).values_list(
        "execution_id", "duration_ms"
    ):
        step_time[execution_id] = step_time.get(execution_id, 0.0) + duration
    step_runs = StepRun.objects.filter(execution_id__in=ids).count()
    complete = sum(1 for pk in ids if stored.get(pk, {}).get("status") == "succeeded")
    verdict = "all persisted" if complete == len(ids) and step_runs == len(ids) * steps else "MISSING ROWS"
    print(f"    persisted: {complete}/{len(ids)} executions succeeded, {step_runs} StepRuns ({verdict})")
    parts: dict[str, list[float]] = {"web in": [], "celery hop": [], "engine": [], "of it steps": [], "back out": []}
    for sample in run.samples:
        row = stored.get(sample.execution_id)
        if not row or not row["started"] or not row["finished"]:
            continue
        created, started, finished = (row[k].timestamp() for k in ("created", "started", "finished"))
        parts["web in"].append((created - sample.sent) * 1000)
        parts["celery hop"].append((started - created) * 1000)
        parts["engine"].append((finished - started) * 1000)
        parts["of it steps"].append(step_time.get(sample.execution_id, 0.0))
        parts["back out"].append((sample.received - finished) * 1000)
    if parts["engine"]:
        where = "   ".join(f"{name} {statistics.median(values):6.2f}" for name, values in parts.items())
        print(f"    where the time goes (medians, ms): {where}")
    if run.samples:
        used = "   ".join(f"{name} {seconds * 1000 / len(run.samples):6.2f}" for name, seconds in cpu.items())
        print(f"    CPU per execution (ms): {used}")


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '%(body)s'
bad = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '%(expect)s', 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local wrong = 0
  for _, thread in ipairs(threads) do wrong = wrong + thread:get("bad") end
  io.write(string.format("RESULT %%d %%d %%f %%f %%d\\n", summary.requests, wrong,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.duration))
end
"""


@dataclass
class WrkRun:
    clients: int
    requests: int
    wrong: int
    p50_ms: float
    p99_ms: float
    seconds: float


def drive_wrk(port: int, fixture: Fixture, clients: int, seconds: float, expect: str, log_dir: Path) -> WrkRun:
    """wrk with ``clients`` keep-alive connections posting the same small order; a response that is not a
    200 holding ``expect`` counts as wrong."""
    body = json.dumps({"environment": "sandbox", "wait": WAIT, "payload": {"order": 1, "lines": 2}})
    script = log_dir / "trigger.lua"
    script.write_text(WRK_SCRIPT % {"token": fixture.token, "body": body, "expect": expect})
    url = f"http://127.0.0.1:{port}/api/v1/flows/{fixture.flow.slug}/executions"
    command = ["wrk", f"-t{min(clients, 2)}", f"-c{clients}", f"-d{seconds:.0f}s", "--timeout", f"{WAIT + 10}s"]
    done = subprocess.run([*command, "-s", str(script), url], capture_output=True, text=True, check=True)
    line = next((row for row in done.stdout.splitlines() if row.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    requests, wrong, p50, p99, micros = line.split()[1:]
    return WrkRun(clients, int(requests), int(wrong), float(p50), float(p99), int(micros) / 1e6)


def server_pids() -> dict[str, int]:
    """The PostgreSQL postmaster's and the Redis server's process ids (both on this machine)."""
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    import redis

    redis_pid = int(redis.Redis.from_url(settings.REDIS_URL).info("server")["process_id"])
    return {"postgresql": postmaster, "redis": redis_pid}


def settled(rows) -> tuple[int, int]:
    """How many of ``rows`` there are and how many succeeded, once the requests wrk cut off at the end
    of its run are over: a request gunicorn had read but not yet started creates its execution after
    wrk stopped, so the counts are taken together, when nothing is unfinished and the count held
    still for half a second (or the wait is over)."""
    from django.db.models import Count, Q

    from flows.models import Execution

    settle, last = time.monotonic() + WAIT, None
    while True:
        counts = rows.aggregate(
            total=Count("pk"),
            succeeded=Count("pk", filter=Q(status=Execution.Status.SUCCEEDED)),
            unfinished=Count("pk", filter=~Q(status__in=Execution.FINAL)),
        )
        if (not counts["unfinished"] and counts["total"] == last) or time.monotonic() > settle:
            return counts["total"], counts["succeeded"]
        last = counts["total"] if not counts["unfinished"] else None
        time.sleep(0.5)


def report_wrk(label: str, run: WrkRun, fixture: Fixture, since, cpu: dict[str, float]) -> None:
    """wrk's figures, what the database holds of the run, and CPU per execution."""
    from flows.models import Execution, StepRun

    rows = Execution.objects.filter(flow=fixture.flow, created__gte=since)
    executions, succeeded = settled(rows)
    step_runs = StepRun.objects.filter(execution__in=rows).count()
    print(
        f"{label}: {run.clients:>2} client{'s' if run.clients > 1 else ' '}  "
        f"{run.requests / run.seconds:8.1f} executions/s   p50 {run.p50_ms:7.2f} ms   p99 {run.p99_ms:7.2f} ms   "
        f"({run.requests} answered, {run.wrong} not a 200 with the result)"
    )
    verdict = "all persisted" if succeeded == executions and step_runs == executions * fixture.steps else "MISSING ROWS"
    print(f"    persisted: {succeeded}/{executions} executions succeeded, {step_runs} StepRuns ({verdict})")
    if run.requests:
        used = "   ".join(f"{name} {seconds * 1000 / run.requests:6.2f}" for name, seconds in cpu.items())
        total = sum(cpu.values()) * 1000 / run.requests
        print(f"    CPU per execution (ms): {used}   all {total:6.2f}")


def measure(
    name: str,
    graph: dict,
    check: Callable[[dict, int], bool],
    prepare: Callable | None = None,
    probe=None,
    expect: str | None = None,
):
    """Create the fixture, then for each mode (eager on, off) serve, warm up and drive 1 and 10 clients.

    With wrk (and ``expect``, the text a right answer holds) wrk drives the load; else the Python
    clients, judged by ``check``. ``probe`` (optional, Python clients only) is a context manager
    factory wrapping each measured run; it yields a function that, given the run, returns a line to
    print after the run's figures.
    """
    from django.utils import timezone

    fixture = create_fixture(name, graph, prepare)
    use_wrk = TOOL == "wrk" and expect is not None and probe is None
    try:
        for mode in CHOSEN_MODES:
            extra_env = {"ERPFLOW_EAGER_EXECUTION": MODES[mode]}
            with (
                tempfile.TemporaryDirectory(prefix="erpflow-bench-") as tmp,
                serving(Path(tmp), extra_env) as (
                    port,
                    pids,
                ),
            ):
                pids = {**pids, **server_pids()}
                label = f"{name} [{mode}]"
                print(
                    f"{label}: gunicorn {WEB_WORKERS} workers x {WEB_THREADS} threads, 1 Celery worker x "
                    f"{WORKER_THREADS} threads, PostgreSQL + Redis, {SECONDS:.0f} s per client count, wait={WAIT}, "
                    f"load from {'wrk' if use_wrk else 'Python clients'}"
                )
                drive(port, fixture, max(CLIENTS), WARMUP_SECONDS, check)
                for clients in CLIENTS:
                    before = {key: cpu_seconds(pid) for key, pid in pids.items()}
                    since = timezone.now()
                    if use_wrk:
                        profiled = PROFILE and clients == max(CLIENTS)
                        web = _profile.children(pids["web"]) if profiled else []
                        with _profile.recording(web, Path(tmp), SECONDS) as profiles:
                            run = drive_wrk(port, fixture, clients, SECONDS, expect, Path(tmp))
                            cpu = {key: cpu_seconds(pid) - before[key] for key, pid in pids.items()}
                        report_wrk(label, run, fixture, since, cpu)
                        if profiled:
                            _profile.print_top(profiles)
                        continue
                    if probe is None:
                        run, extra = drive(port, fixture, clients, SECONDS, check), ""
                    else:
                        with probe() as after:
                            run = drive(port, fixture, clients, SECONDS, check)
                        extra = after(run)
                    cpu = {key: cpu_seconds(pid) - before[key] for key, pid in pids.items()}
                    report(label, run, fixture.steps, cpu)
                    if extra:
                        print(extra)
    finally:
        fixture.remove()


def main() -> None:
    setup_django()
    measure(
        "trigger",
        ADD_FIELD,
        lambda data, n: data.get("status") == "succeeded" and data.get("output", {}).get("n") == n
        and data["output"].get("seen") is True,
        expect='"seen":true',
    )  # fmt: skip
    print("  targets on a 2-core machine (issue #18): >= 800 executions/s at 10 clients, p50 <= 3 ms at 1 client")


if __name__ == "__main__":
    main()
