"""Apple Health import speed and memory, against the parse-only floor and healthkit-to-sqlite.

Generates a realistic export.zip for N days (iPhone + Apple Watch: heart rate every 5 minutes,
overlapping steps and distance, active and basal energy, HRV with beat lists, sleep stages, workouts
with statistics and routes, blood pressure, body mass), then times on that one file, each in a process
of its own so peak RSS is its own:

  (a) parse only: lxml iterparse over the zip member, touching every record's attributes (the floor);
  (b) healthkit-to-sqlite, if installed (`pip install healthkit-to-sqlite`; not a project dependency);
  (c) our full import into PostgreSQL (DATABASE_URL, else a throw-away embedded server), reading in
      one process, and as it does by default (two parsing processes for a large export on two cores).
      The CPU its PostgreSQL backends used is read from /proc when the server runs on this machine.

Run by hand: `python benchmarks/apple_health.py [days ...]` (default: 365 1095); set
BENCH_SKIP_HEALTHKIT_TO_SQLITE=1 to leave (b) out (it takes many minutes on a large export). Prints MB/s of
export.xml, records/s, peak RSS (of the importing process, and of the largest parsing process) and the
ratios. Wall time depends on what else uses the CPU: the load average is printed with the figures.
"""

from __future__ import annotations

import io
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

WATCH = (
    'sourceName="Ann’s Apple Watch" sourceVersion="10.1" device="&lt;&lt;HKDevice: 0x283336ee0&gt;, '
    'name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,12, software:10.1&gt;"'
)
PHONE = (
    'sourceName="Ann’s iPhone" sourceVersion="17.1" device="&lt;&lt;HKDevice: 0x66aaba640&gt;, '
    'name:iPhone, manufacturer:Apple Inc., model:iPhone, hardware:iPhone14,2, software:17.1&gt;"'
)
Q = "HKQuantityTypeIdentifier"


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %z")


def generate(path: str, days: int, seed: int = 7) -> int:
    """Write export.zip for `days` days at `path`; returns the number of top-level records."""
    rng = random.Random(seed)  # noqa: S311 (benchmark data)
    tz = timezone(timedelta(hours=1))
    first = datetime(2023, 1, 1, tzinfo=tz)
    count = 0
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("apple_health_export/export.xml", "w", force_zip64=True) as raw,
    ):
        out = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE HealthData [\n')
        out.write("<!-- HealthKit Export Version: 14 -->\n<!ELEMENT HealthData (ExportDate,Me,(Record)*)>\n]>\n")
        out.write('<HealthData locale="en_GB">\n <ExportDate value="2026-01-01 09:00:00 +0100"/>\n')
        out.write(
            ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1985-06-02" '
            'HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>\n'
        )

        def rec(kind: str, src: str, unit: str, start: datetime, end: datetime, value: str, body: str = "") -> None:
            nonlocal count
            count += 1
            head = (
                f' <Record type="{Q}{kind}" {src} unit="{unit}" creationDate="{_ts(end)}" '
                f'startDate="{_ts(start)}" endDate="{_ts(end)}" value="{value}"'
            )
            out.write(f"{head}>\n{body} </Record>\n" if body else f"{head}/>\n")

        for d in range(days):
            day = first + timedelta(days=d)
            for m in range(0, 1440, 5):  # heart rate every 5 minutes
                t = day + timedelta(minutes=m)
                body = '  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n'
                rec("HeartRate", WATCH, "count/min", t, t, str(rng.randint(52, 150)), body)
            for m in range(420, 1380, 10):  # steps and distance, Watch and iPhone overlapping
                t = day + timedelta(minutes=m)
                steps = rng.randint(0, 900)
                rec("StepCount", WATCH, "count", t, t + timedelta(minutes=10), str(steps))
                rec("DistanceWalkingRunning", WATCH, "km", t, t + timedelta(minutes=10), f"{steps * 0.00075:.5f}")
                if m % 20 == 0:
                    tp = t + timedelta(minutes=3)
                    rec("StepCount", PHONE, "count", tp, tp + timedelta(minutes=12), str(int(steps * 1.1)))
                    rec(
                        "DistanceWalkingRunning",
                        PHONE,
                        "km",
                        tp,
                        tp + timedelta(minutes=12),
                        f"{steps * 0.0008:.5f}",
                    )
            for m in range(0, 1440, 3):  # active energy every 3 minutes, basal every 15
                t = day + timedelta(minutes=m)
                rec("ActiveEnergyBurned", WATCH, "Cal", t, t + timedelta(minutes=3), f"{rng.random() * 4:.3f}")
                if m % 15 == 0:
                    rec("BasalEnergyBurned", WATCH, "Cal", t, t + timedelta(minutes=15), f"{15 + rng.random():.3f}")
            for h in (3, 7, 11, 15, 19, 23):  # HRV with beat lists
                t = day + timedelta(hours=h)
                beats = "".join(
                    f'   <InstantaneousBeatsPerMinute bpm="{rng.randint(55, 80)}" time="{h}:00:{s:02d}.{s:02d}"/>\n'
                    for s in range(0, 60, 6)
                )
                body = f"  <HeartRateVariabilityMetadataList>\n{beats}  </HeartRateVariabilityMetadataList>\n"
                rec(
                    "HeartRateVariabilitySDNN",
                    WATCH,
                    "ms",
                    t,
                    t + timedelta(minutes=1),
                    f"{rng.uniform(25, 90):.4f}",
                    body,
                )
            rec("RestingHeartRate", WATCH, "count/min", day + timedelta(hours=12), day + timedelta(hours=12), "55")
            for h in (1, 3, 5):
                t = day + timedelta(hours=h)
                rec("OxygenSaturation", WATCH, "%", t, t, f"{rng.uniform(0.93, 0.99):.2f}")
                rec("RespiratoryRate", WATCH, "count/min", t, t, f"{rng.uniform(12, 18):.1f}")
            rec(
                "BodyMass",
                PHONE,
                "kg",
                day + timedelta(hours=7),
                day + timedelta(hours=7),
                f"{70 + rng.random():.2f}",
            )
            # Sleep: in bed (iPhone) and stages (Watch), 23:00 to 07:00.
            night = day - timedelta(hours=1)
            count += 1
            out.write(
                ' <Record type="HKCategoryTypeIdentifierSleepAnalysis" '
                f'{PHONE} startDate="{_ts(night)}" endDate="{_ts(night + timedelta(hours=8))}" '
                'value="HKCategoryValueSleepAnalysisInBed"/>\n'
            )
            t = night + timedelta(minutes=10)
            while t < night + timedelta(hours=8):
                stage = rng.choice(["AsleepCore", "AsleepCore", "AsleepDeep", "AsleepREM", "Awake"])
                end = t + timedelta(minutes=rng.randint(10, 40))
                count += 1
                out.write(
                    ' <Record type="HKCategoryTypeIdentifierSleepAnalysis" '
                    f'{WATCH} startDate="{_ts(t)}" endDate="{_ts(end)}" '
                    f'value="HKCategoryValueSleepAnalysis{stage}">\n'
                    '  <MetadataEntry key="HKTimeZone" value="Europe/Paris"/>\n </Record>\n'
                )
                t = end
            if d % 2 == 0:  # a run every other day
                s = day + timedelta(hours=18)
                e = s + timedelta(minutes=40)
                count += 1
                out.write(
                    ' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" '
                    'duration="40" durationUnit="min" '
                    f'{WATCH} creationDate="{_ts(e)}" startDate="{_ts(s)}" endDate="{_ts(e)}">\n'
                    '  <MetadataEntry key="HKIndoorWorkout" value="0"/>\n'
                    '  <MetadataEntry key="HKElevationAscended" value="4180 cm"/>\n'
                    f'  <WorkoutEvent type="HKWorkoutEventTypePause" date="{_ts(s + timedelta(minutes=20))}"/>\n'
                    f'  <WorkoutStatistics type="{Q}HeartRate" startDate="{_ts(s)}" endDate="{_ts(e)}" '
                    'average="151" minimum="98" maximum="176" unit="count/min"/>\n'
                    f'  <WorkoutStatistics type="{Q}ActiveEnergyBurned" startDate="{_ts(s)}" endDate="{_ts(e)}" '
                    'sum="420" unit="Cal"/>\n'
                    f'  <WorkoutStatistics type="{Q}DistanceWalkingRunning" '
                    f'startDate="{_ts(s)}" endDate="{_ts(e)}" '
                    'sum="7.1" unit="km"/>\n'
                    f'  <WorkoutRoute {WATCH} startDate="{_ts(s)}" endDate="{_ts(e)}">\n'
                    f'   <FileReference path="/workout-routes/route_{s:%Y-%m-%d_%H.%M}.gpx"/>\n'
                    "  </WorkoutRoute>\n </Workout>\n"
                )
            if d % 7 == 0:  # blood pressure once a week: a correlation, and its records again
                t = day + timedelta(hours=8)
                pair = (
                    f' <Record type="{Q}BloodPressureSystolic" sourceName="Cuff" unit="mmHg" '
                    f'startDate="{_ts(t)}" endDate="{_ts(t)}" value="{rng.randint(110, 130)}"/>\n'
                    f' <Record type="{Q}BloodPressureDiastolic" sourceName="Cuff" unit="mmHg" '
                    f'startDate="{_ts(t)}" endDate="{_ts(t)}" value="{rng.randint(70, 85)}"/>\n'
                )
                count += 3
                out.write(
                    ' <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Cuff" '
                    f'startDate="{_ts(t)}" endDate="{_ts(t)}">\n{pair} </Correlation>\n{pair}'
                )
            out.write(
                f' <ActivitySummary dateComponents="{day:%Y-%m-%d}" activeEnergyBurned="480" '
                'activeEnergyBurnedGoal="500" activeEnergyBurnedUnit="Cal" appleMoveTime="0" '
                'appleMoveTimeGoal="0" appleExerciseTime="35" appleExerciseTimeGoal="30" '
                'appleStandHours="11" appleStandHoursGoal="12"/>\n'
            )
        out.write("</HealthData>\n")
        out.flush()
        out.detach()
    return count


# --- the three contenders, each run in a child process ------------------------------------------------


def _cpu() -> float:
    """CPU seconds of this process and of the children it has waited for (parsing processes, tools)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(work: Callable[[], object]) -> None:
    wall, cpu = time.perf_counter(), _cpu()
    work()
    print(f"elapsed {time.perf_counter() - wall:.3f}")
    print(f"cpu {_cpu() - cpu:.3f}")


def parse_only(path: str) -> None:
    from lxml import etree

    _timed(lambda: _parse(etree, path))


def _parse(etree: Any, path: str) -> None:
    touched = 0
    with zipfile.ZipFile(path) as archive, archive.open("apple_health_export/export.xml") as stream:
        for _, elem in etree.iterparse(stream, events=("end",), tag=("Record", "Workout"), recover=True):
            touched += len(elem.attrib.values())
            elem.clear(keep_tail=False)
            parent = elem.getparent()
            if parent is not None and parent.tag == "HealthData":
                while elem.getprevious() is not None:
                    del parent[0]
    print(f"attributes touched: {touched:,}", file=sys.stderr)


def ours(path: str, workers: int | None = None) -> None:
    from sqlalchemy import event, text

    from db import migrate
    from db.apple_health import import_apple_health
    from db.engine import admin_scope, get_engine
    from db.models import Account, User

    migrate.upgrade()
    with admin_scope() as session:
        session.execute(
            text(
                "DELETE FROM accounts WHERE account_id IN"
                " (SELECT account_id FROM users WHERE email LIKE 'bench-apple%')"
            )
        )
        account = Account()
        session.add(account)
        session.flush()
        user = User(account_id=account.account_id, email=f"bench-apple-{time.time_ns()}@example.test", display_name="B")
        session.add(user)
        session.flush()
        user_id = user.user_id
    backends: set[int] = set()
    engine = get_engine()
    engine.dispose()  # new connections from here on, so every backend the import uses is seen
    event.listen(engine, "connect", lambda connection, _: backends.add(_backend_pid(connection)))
    result = None

    def run() -> None:
        nonlocal result
        result = import_apple_health(path, user_id, workers=workers)

    sampler = _ChildPeaks()
    sampler.start()
    wall, cpu = time.perf_counter(), _cpu()
    run()
    print(f"elapsed {time.perf_counter() - wall:.3f}")
    print(f"cpu {_cpu() - cpu:.3f}")
    assert result is not None
    print(f"workers {result.workers}")
    print(f"rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    sampler.stop()
    print(f"worker_rss {sampler.peak_mb:.0f}")
    database_cpu = [_process_cpu(pid) for pid in backends]
    if backends and all(c is not None for c in database_cpu):
        print(f"database_cpu {sum(c for c in database_cpu if c is not None):.3f}")
    print(f"  ours produced {dict(result.report.produced)}, skipped {dict(result.report.skipped)}", file=sys.stderr)
    engine.dispose()


class _ChildPeaks(threading.Thread):
    """The largest peak RSS among this process's children (the parsing processes), read from /proc.

    A spawned child's own ru_maxrss starts from its parent's size at fork, so it would overstate them.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.2):
            for pid in _children(os.getpid()):
                try:
                    with open(f"/proc/{pid}/status") as status:
                        for line in status:
                            if line.startswith("VmHWM:"):
                                self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)
                except OSError:
                    continue

    def stop(self) -> None:
        self._done.set()
        self.join()


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(p) for p in children.read().split()]
    except OSError:
        return []


def _backend_pid(connection: Any) -> int:
    cursor = connection.cursor()
    cursor.execute("SELECT pg_backend_pid()")
    pid = int(cursor.fetchone()[0])
    cursor.close()
    return pid


def _process_cpu(pid: int) -> float | None:
    """CPU seconds a process on this machine has used so far (None if it cannot be read)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def healthkit_to_sqlite(path: str) -> None:
    exe = shutil.which("healthkit-to-sqlite") or os.path.join(os.path.dirname(sys.executable), "healthkit-to-sqlite")
    with tempfile.TemporaryDirectory() as tmp:
        command = [exe, path, os.path.join(tmp, "h.db")]
        _timed(lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL))  # noqa: S603 (fixed arguments)


def _measure(mode: str, path: str) -> dict[str, float] | None:
    """Figures of `mode` run in a child process: wall and CPU seconds, peak RSS in MB, and what it adds.

    Times are the child's own figures for its work alone (no interpreter start, no migration check).
    CPU seconds are what to compare on a machine others are using: wall time there depends on them.
    """
    start = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 (our own script)
        [sys.executable, __file__, "--run", mode, path], stdout=subprocess.PIPE, text=True
    )
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    figures = {"elapsed": time.perf_counter() - start, "cpu": float("nan"), "rss": usage.ru_maxrss / 1024}
    for line in output.splitlines():
        key, _, value = line.partition(" ")
        if key in ("elapsed", "cpu", "workers", "rss", "worker_rss", "database_cpu"):
            figures[key] = float(value)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        print(f"  {mode}: failed (exit {child.returncode})")
        return None
    return figures


MODES = {
    "parse": "(a) parse only",
    "healthkit-to-sqlite": "(b) healthkit-to-sqlite",
    "ours-1-process": "(c) ours, 1 process",
    "ours": "(c) ours, default",
}


def bench(days: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "export.zip")
        t0 = time.perf_counter()
        records = generate(path, days)
        info = zipfile.ZipFile(path).infolist()[0]
        mb = info.file_size / 1e6
        print(
            f"\n{days} days: {records:,} records, export.xml {mb:,.0f} MB "
            f"(zip {info.compress_size / 1e6:,.0f} MB), generated in {time.perf_counter() - t0:.0f} s"
        )
        load = os.getloadavg()[0]
        figures: dict[str, dict[str, float]] = {}
        for mode, label in MODES.items():
            if mode == "healthkit-to-sqlite" and os.environ.get("BENCH_SKIP_HEALTHKIT_TO_SQLITE"):
                print(f"  {label}: skipped (BENCH_SKIP_HEALTHKIT_TO_SQLITE)")
                continue
            if mode == "healthkit-to-sqlite" and not (
                shutil.which("healthkit-to-sqlite")
                or os.path.exists(os.path.join(os.path.dirname(sys.executable), "healthkit-to-sqlite"))
            ):
                print(f"  {label}: not installed, skipped (to compare: pip install healthkit-to-sqlite)")
                continue
            measured = _measure(mode, path)
            if measured is None:
                continue
            figures[mode] = measured
            seconds, cpu, rss = measured["elapsed"], measured["cpu"], measured["rss"]
            line = (
                f"  {label:<24} {seconds:6.2f} s wall {cpu:6.2f} s CPU  {mb / seconds:6.1f} MB/s  "
                f"{records / seconds:9,.0f} records/s  peak RSS {rss:4.0f} MB"
            )
            if "workers" in measured:
                processes = int(measured["workers"])
                line += f"; {processes} parsing process{'es' if processes > 1 else ''}"
                if processes > 1:
                    line += f" (each at most {measured['worker_rss']:.0f} MB)"
                if "database_cpu" in measured:
                    line += f"; PostgreSQL {measured['database_cpu']:.2f} s CPU"
            print(line)
        for variant in ("ours-1-process", "ours"):
            for other in ("healthkit-to-sqlite", "parse"):
                if variant in figures and other in figures:
                    mine, theirs = figures[variant], figures[other]
                    faster = f" ({theirs['elapsed'] / mine['elapsed']:.1f}x as fast)" if other != "parse" else ""
                    print(
                        f"  {MODES[variant]} vs {MODES[other]}: {mine['elapsed'] / theirs['elapsed']:.2f}x its wall"
                        f" time{faster}, {mine['cpu'] / theirs['cpu']:.2f}x its CPU"
                    )
        print(
            f"  (CPUs: {os.cpu_count()}; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after:"
            " a shared machine makes wall time noisy)"
        )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--run"]:
        modes = {
            "parse": parse_only,
            "ours-1-process": lambda path: ours(path, workers=1),
            "ours": ours,
            "healthkit-to-sqlite": healthkit_to_sqlite,
        }
        modes[argv[1]](argv[2])
        return
    if not os.environ.get("DATABASE_URL"):
        os.environ["VITALIS_HOME"] = tempfile.mkdtemp(prefix="vitalis-bench-")
    for days in [int(a) for a in argv] or [365, 1095]:
        bench(days)


if __name__ == "__main__":
    main(sys.argv[1:])
