"""The streaming pass over export.xml: one lxml `iterparse`, each element mapped and then cleared.

Workouts, body measurements and the profile are yielded as they are read; daily summaries and nights
of sleep only once the whole file has been read, since an export is ordered by type, not by time.
Memory holds the compact samples of summed quantities and per-day statistics, never the tree.

A record that cannot be used (a bad date, a value that is not a number or is out of range, a unit the
converter refuses) is skipped and counted in the report with its line number. Damage to the XML itself
(a repeated attribute, a byte that is not UTF-8, an undeclared entity) is recovered by libxml2 and
counted; an export that is cut short is refused before any daily total is produced from it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import fields
from datetime import date, datetime
from math import isfinite
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from parsers.apple_health import records as hk
from parsers.apple_health.daily import DAY, CumulativeSamples, DiscreteStats
from parsers.apple_health.parallel import default_workers, read_in_parallel
from parsers.apple_health.records import (
    DailySummary,
    ImportReport,
    Measurement,
    Profile,
    SleepNight,
    Workout,
)
from parsers.apple_health.sleep import SleepSegments
from parsers.apple_health.source import ExportError, Limits, open_export
from parsers.apple_health.values import BadRecord, Values, aware, day_date, day_number, number
from parsers.apple_health.workouts import read_workout

Item = Profile | Measurement | Workout | DailySummary | SleepNight
# (records read, bytes of export.xml read, expected bytes): often enough for a bar, rarely enough to be free.
Progress = Callable[[int, int, int], None]
# (catalog entries, unit conversions): see `AppleHealthExport.lookups`.
Lookups = tuple[dict[str, Any], dict[tuple[str, str, str], Any]]

_TAGS = ("Record", "Correlation", "Workout", "ActivitySummary", "Me", "ExportDate")
_XML_PROBLEMS = {
    "ERR_ATTRIBUTE_REDEFINED": "repeated_attribute",
    "ERR_INVALID_ENCODING": "invalid_utf8",
    "ERR_INVALID_CHAR": "invalid_character",
    "ERR_UNDECLARED_ENTITY": "entity_not_resolved",
}
# Per-sample sanity bounds where a daily column's range is not a sample's (a single SpO2 reading may be
# lower than any plausible daily average).
_SAMPLE_KEYS = {"spo2": "wearable_daily.spo2_min_pct"}


# The unit spellings Apple writes, by metric (they follow the phone's locale and settings), and those
# of workout totals, by the unit they are converted to: see `AppleHealthExport.lookups`.
_USUAL_UNITS: dict[str, tuple[str, ...]] = {
    "steps": ("count",),
    "distance_m": ("km", "mi", "m", "ft", "yd"),
    "active_calories_kcal": ("kcal", "Cal", "kJ"),
    "basal_calories_kcal": ("kcal", "Cal", "kJ"),
    "floors_climbed": ("count",),
    "active_minutes": ("min",),
    "heart_rate": ("count/min",),
    "resting_hr_bpm": ("count/min",),
    "hrv_sdnn_ms": ("ms",),
    "spo2": ("%",),
    "respiratory_rate_avg": ("count/min",),
    "vo2_max_ml_kg_min": ("mL/min·kg",),
    "weight": ("kg", "lb", "st"),
    "body_fat_pct": ("%",),
    "bmi": ("count",),
    "height": ("cm", "m", "in", "ft"),
    "lean_body_mass": ("kg", "lb", "st"),
    "waist_circumference": ("cm", "in"),
    "blood_pressure_systolic": ("mmHg",),
    "blood_pressure_diastolic": ("mmHg",),
    "blood_glucose": ("mg/dL", "mmol<180.15588000005408>/L"),
    "body_temperature": ("degC", "degF"),
}
_USUAL_WORKOUT_UNITS: dict[str, tuple[str, ...]] = {
    "s": ("min", "s", "hr"),
    "m": ("km", "mi", "m", "cm", "ft", "yd"),
    "kcal": ("kcal", "Cal", "kJ"),
    "/min": ("count/min",),
}
_DAILY_COLUMNS = [f.name for f in fields(DailySummary) if f.name not in ("day", "raw")]

# Each mapped record type's path through `_record` and the metric it feeds; anything else is counted
# as an unknown type without reading another attribute.
_CUMULATIVE, _DISCRETE, _MEASUREMENT, _SLEEP = 0, 1, 2, 3
_KINDS: dict[str | None, tuple[int, str]] = {
    **{kind: (_CUMULATIVE, metric) for kind, metric in hk.CUMULATIVE.items()},
    **{kind: (_DISCRETE, metric) for kind, metric in hk.DISCRETE.items()},
    **{kind: (_MEASUREMENT, metric) for kind, metric in hk.MEASUREMENTS.items()},
    hk.SLEEP_TYPE: (_SLEEP, ""),
}


class AppleHealthExport:
    """Iterate over an export to get its typed records; `report` says what was read and skipped.

    `workers` > 1 parses chunks of the file in that many processes (parsers.apple_health.parallel);
    inside a daemonic process (a Celery prefork worker), which may not start any, it reads alone.
    None (the default) chooses: two for a large export where processes may be started, else one.
    """

    def __init__(
        self,
        source: str | Path | BinaryIO,
        *,
        limits: Limits | None = None,
        source_priority: Sequence[str] = (),
        progress: Progress | None = None,
        progress_every: int = 50_000,
        workers: int | None = None,
        chunk_bytes: int = 1024 * 1024,
        lookups: Lookups | None = None,
    ) -> None:
        self._source = source
        self._limits = limits or Limits()
        self._priority = {name: i for i, name in enumerate(source_priority)}
        self._progress = progress
        self._progress_every = progress_every
        self._progress_due = progress_every  # the record count of the next report when reading in parallel
        self.report = ImportReport()
        self._sources: dict[tuple[str, str], int] = {}
        self._source_list: list[tuple[str, str]] = []
        if lookups is not None:
            hk._CATALOG.update(lookups[0])
        self._values = Values(lookups[1] if lookups is not None else None)
        self._when = self._values.when
        self._convert = self._values.convert
        self._affine = self._values.affine
        self._device = self._values.device
        self._scales: dict[tuple[str, str], tuple[float, float, tuple[float, float] | None]] = {}
        self._source_cache: dict[tuple[str | None, str | None], int] = {}
        self._cumulative = CumulativeSamples()
        self._discrete = DiscreteStats()
        self._sleep = SleepSegments()
        self._summaries: dict[int, dict[str, Any]] = {}
        self._bp_seen: set[tuple[str, datetime]] = set()
        self._workers = workers
        self.workers = workers or 1  # the parsing processes used: chosen once reading starts if None
        self._chunk_bytes = chunk_bytes
        self._line_offset = 0  # a chunk read on its own: its first line's number in export.xml, less one
        self._last_problem_line: int | None = None

    # --- the pass ------------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Item]:
        with open_export(self._source, self._limits) as (stream, size):
            self.report.export_version = stream.export_version
            self.report.dtd_removed = stream.dtd_removed
            workers = default_workers(stream, size) if self._workers is None else self._workers
            self.workers = 1 if multiprocessing.current_process().daemon else workers
            if self.workers > 1:
                items = read_in_parallel(self, stream, size, self.workers, self._chunk_bytes)
            else:
                hook = (
                    (lambda records: self._report_progress(records, stream, size, every=True))
                    if self._progress
                    else None
                )
                items = self._elements(stream, hook)
            yield from self._emit(items)
            self.report.bytes_read = stream.bytes_read
            if not stream.ended_cleanly():
                raise ExportError(
                    "truncated_xml",
                    f"export.xml ends early after {self.report.records:,} records "
                    f"(line {self._last_problem_line or '?'}); the export on the phone did not finish: export it again",
                )
            if self._progress is not None:
                self._progress(self.report.records, stream.bytes_read, size)
        yield from self._nights()
        yield from self._days()

    def _report_progress(self, records: int, stream: Any, size: int, *, every: bool = False) -> None:
        if self._progress is not None and (every or records % self._progress_every == 0):
            self._progress(records, stream.bytes_read, size)

    def _emit(self, items: Iterable[Item]) -> Iterator[Item]:
        produced = self.report.produced
        for item in items:
            if isinstance(item, Measurement):
                if item.metric.startswith("blood_pressure"):
                    key = (item.metric, item.measured_at)
                    if key in self._bp_seen:  # a correlation's readings are also written as top-level records
                        continue
                    self._bp_seen.add(key)
                produced["measurements"] += 1
            elif isinstance(item, Workout):
                produced["workouts"] += 1
            yield item

    def _elements(self, stream: Any, progress: Callable[[int], None] | None = None) -> Iterator[Item]:
        """The pass itself: yields workouts, measurements and the profile; keeps the rest for the end."""
        report = self.report
        every = self._progress_every
        due = every  # the next record count to report progress at
        root = None
        context = etree.iterparse(
            stream,
            events=("end",),
            tag=_TAGS,
            recover=True,  # repeated attributes, bad bytes: keep the rest of the file
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            remove_comments=True,
            remove_pis=True,
        )
        try:
            for _, elem in context:
                tag = elem.tag
                parent = elem.getparent()
                if tag == "Record":
                    if parent is not root:  # the root's proxy is kept, so a top-level record is one comparison
                        if parent is not None and parent.tag == "Correlation":
                            continue  # read with its correlation, cleared with it
                        root = parent
                    report.records += 1
                    item = self._record(elem)
                    if item is not None:
                        yield item
                    if report.records >= due:
                        due = (report.records // every + 1) * every
                        if progress is not None:
                            progress(report.records)
                elif tag == "Workout":
                    report.records += 1
                    workout = self._guarded(self._workout, elem)
                    if workout is not None:
                        yield workout
                elif tag == "Correlation":
                    report.records += 1
                    yield from self._correlation(elem)
                elif tag == "ActivitySummary":
                    report.records += 1
                    self._guarded(self._activity_summary, elem)
                elif tag == "Me":
                    report.locale = parent.get("locale") if parent is not None else None
                    yield self._profile(elem)
                elem.clear(keep_tail=False)
                if parent is not None:
                    while elem.getprevious() is not None:
                        del parent[0]
        except etree.XMLSyntaxError as error:
            line = (error.lineno or 0) + self._line_offset
            raise ExportError("malformed_xml", f"export.xml cannot be read past line {line}: {error.msg}") from None
        for problem in context.error_log:
            report.xml_problems[_XML_PROBLEMS.get(problem.type_name, problem.type_name.lower())] += 1
            report.xml_problem_lines.append(problem.line + self._line_offset)
            self._last_problem_line = problem.line + self._line_offset

    def _guarded(self, handler: Callable[[Any], Any], elem: Any) -> Any:
        try:
            return handler(elem)
        except BadRecord as reason:
            self.report.skip(f"{elem.tag}: {reason}", elem.sourceline + self._line_offset)
            return None

    # --- records -------------------------------------------------------------------------------------

    def _record(self, elem: Any) -> Measurement | None:
        # The common path of every record, kept in one frame: a quantity summed per day or summarised
        # per day is six attribute reads, cached lookups and an append, with no object made per record.
        get = elem.get
        kind = get("type")
        spec = _KINDS.get(kind)
        if spec is None:
            self.report.unknown_types[kind] += 1
            return None
        code, metric = spec
        try:
            if code <= _DISCRETE:
                start_text = get("startDate")
                start, offset = self._when(start_text)
                if code == _CUMULATIVE:
                    end_text = get("endDate")
                    end = start if end_text == start_text else self._when(end_text)[0]
                    if end < start:
                        raise BadRecord("ends before it starts")
                unit = get("unit") or "1"
                scale = self._scales.get((metric, unit)) or self._scale(metric, unit)
                raw = get("value")
                try:
                    value = float(raw)  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    value = number(raw)
                if not isfinite(value):
                    raise BadRecord("value is not a finite number")
                value = value * scale[0] + scale[1]
                if code == _DISCRETE:
                    bounds = scale[2]
                    if bounds is not None and not bounds[0] <= value <= bounds[1]:
                        raise BadRecord("value out of range")
                    self._discrete.add(metric, int((start + offset * 60) // DAY), value)
                    return None
                if value < 0:
                    raise BadRecord("negative amount")
                source = self._source_cache.get((get("sourceName"), get("device")))
                if source is None:
                    source = self._source_of(elem.attrib)
                self._cumulative.add(metric, start, end, offset, value, source)
            elif code == _MEASUREMENT:
                return self._measurement(metric, elem.attrib)
            else:
                self._add_sleep(elem.attrib)
        except BadRecord as reason:
            self.report.skip(f"{kind}: {reason}", elem.sourceline + self._line_offset)
        return None

    def _scale(self, metric: str, unit: str) -> tuple[float, float, tuple[float, float] | None]:
        """A daily quantity's (factor, offset, sample bounds) from `unit` to the catalog's, once per spelling."""
        catalog_key = hk.DAILY_METRIC_KEYS[metric]
        factor, shift = self._affine(metric, hk.apple_unit(unit, metric), hk.catalog_unit(catalog_key))
        bounds_key = _SAMPLE_KEYS.get(metric, catalog_key)
        bounds = hk.catalog(bounds_key)[2] if metric in hk.DISCRETE_METRICS and bounds_key else None
        scale = self._scales[(metric, unit)] = (factor, shift, bounds)
        return scale

    def _add_sleep(self, attrib: Any) -> None:
        stage = hk.SLEEP_STAGES.get(attrib.get("value", ""))
        if stage is None:
            raise BadRecord("unknown sleep value")
        start, offset = self._when(attrib.get("startDate"))
        end, _ = self._when(attrib.get("endDate"))
        if end < start:
            raise BadRecord("ends before it starts")
        self._sleep.add(self._source_of(attrib), start, end, offset, stage)

    def _measurement(self, metric: str, attrib: Any) -> Measurement | None:
        start, offset = self._when(attrib.get("startDate"))
        canonical, marker, bounds = hk.catalog(metric)
        unit = attrib.get("unit") or "1"
        value = self._convert(metric, number(attrib.get("value")), unit, canonical, marker)
        if bounds and not bounds[0] <= value <= bounds[1]:
            raise BadRecord("value out of range")
        return Measurement(metric, round(value, 3), canonical, aware(start, offset))

    def _correlation(self, elem: Any) -> Iterator[Measurement]:
        if elem.get("type") != hk.BLOOD_PRESSURE:
            self.report.unknown_types[elem.get("type")] += 1
            return
        for child in elem.iterchildren("Record"):
            kind = child.get("type")
            if kind not in hk.MEASUREMENTS:
                continue
            try:
                item = self._measurement(hk.MEASUREMENTS[kind], child.attrib)
            except BadRecord as reason:
                self.report.skip(f"{kind}: {reason}", child.sourceline + self._line_offset)
                continue
            if item is not None:
                yield item

    def _activity_summary(self, elem: Any) -> None:
        try:
            day = day_number(date.fromisoformat(elem.get("dateComponents", "")))
        except ValueError:
            raise BadRecord("invalid date") from None
        summary: dict[str, Any] = {}
        unit = elem.get("activeEnergyBurnedUnit") or "kcal"
        for field, attribute, from_unit in (
            ("active_calories_kcal", "activeEnergyBurned", unit),
            ("move_goal_kcal", "activeEnergyBurnedGoal", unit),
            ("active_minutes", "appleExerciseTime", "min"),
            ("exercise_goal_min", "appleExerciseTimeGoal", "min"),
            ("stand_hours", "appleStandHours", "1"),
            ("stand_goal_hours", "appleStandHoursGoal", "1"),
        ):
            raw = elem.get(attribute)
            if raw is None:
                continue
            amount = number(raw)
            target = "1" if from_unit == "1" else ("min" if from_unit == "min" else "kcal")
            factor, shift = self._affine(field, hk.apple_unit(from_unit, field), target)
            summary[field] = amount * factor + shift
        self._summaries[day] = summary

    def _profile(self, elem: Any) -> Profile:
        born = elem.get("HKCharacteristicTypeIdentifierDateOfBirth") or ""
        try:
            date_of_birth = date.fromisoformat(born) if born else None
        except ValueError:
            self.report.skip("Me: invalid date of birth", elem.sourceline + self._line_offset)
            date_of_birth = None
        sex = hk.BIOLOGICAL_SEX.get(elem.get("HKCharacteristicTypeIdentifierBiologicalSex", ""))
        return Profile(date_of_birth, sex)

    # --- workouts ------------------------------------------------------------------------------------

    def _workout(self, elem: Any) -> Workout:
        return read_workout(elem, self._values)

    # --- what parsing processes are handed ----------------------------------------------------------

    def lookups(self) -> Lookups:
        """The catalog entries and unit conversions a pass needs, resolved here for Apple's usual spellings.

        Handed to parsing processes so that they import neither the catalog nor the unit converter
        (together most of a second of start-up each); a spelling not among these is resolved there.
        """
        for metric, units in _USUAL_UNITS.items():
            for unit in units:
                with contextlib.suppress(BadRecord):
                    if metric in hk.DAILY_METRIC_KEYS:
                        self._scale(metric, unit)
                    else:
                        canonical, marker, _ = hk.catalog(metric)
                        self._affine(metric, hk.apple_unit(unit, metric), canonical, marker)
        for canonical, units in _USUAL_WORKOUT_UNITS.items():
            for unit in units:
                with contextlib.suppress(BadRecord):
                    self._convert("workout", 0.0, unit, canonical)
        for column in _DAILY_COLUMNS:
            hk.catalog(f"wearable_daily.{column}")
        return dict(hk._CATALOG), dict(self._values.units)

    # --- sources -------------------------------------------------------------------------------------

    def _source_of(self, attrib: Any) -> int:
        raw = (attrib.get("sourceName"), attrib.get("device"))
        index = self._source_cache.get(raw)
        if index is None:
            if len(self._source_cache) > 4096:  # device strings carry addresses: keep the cache bounded
                self._source_cache.clear()
            index = self._source_cache[raw] = self._identify(attrib)
        return index

    def _identify(self, attrib: Any) -> int:
        name = attrib.get("sourceName") or ""
        model = self._device(attrib.get("device")).get("model", "")
        return self._register((name, model))

    def _register(self, key: tuple[str, str]) -> int:
        index = self._sources.get(key)
        if index is None:
            index = self._sources[key] = len(self._source_list)
            self._source_list.append(key)
        return index

    def rank(self, source: int) -> tuple[int, str]:
        """Lower is preferred: the caller's order first, then Apple Watch, iPhone, everything else."""
        name, model = self._source_list[source]
        if name in self._priority:
            return (-len(self._priority) + self._priority[name], name)
        if model == "Watch" or (not model and "Watch" in name):
            return (0, name)
        if model == "iPhone" or (not model and "iPhone" in name):
            return (1, name)
        return (2, name)

    # --- samples read elsewhere (the push endpoint's JSON, parsers.apple_health.push) ---------------------

    def add_cumulative(self, metric: str, start: float, end: float, offset: int, value: float, source: str) -> None:
        """A summed quantity's sample, already in the catalog's unit, merged across sources as the export's."""
        self._cumulative.add(metric, start, end, offset, value, self._register((source, "")))

    def add_discrete(self, metric: str, start: float, offset: int, value: float) -> None:
        self._discrete.add(metric, int((start + offset * 60) // DAY), value)

    def add_sleep(self, source: str, start: float, end: float, offset: int, stage: str) -> None:
        self._sleep.add(self._register((source, "")), start, end, offset, stage)

    def summaries(self) -> Iterator[SleepNight | DailySummary]:
        """The nights and days of what was added, computed as at the end of an export."""
        yield from self._nights()
        yield from self._days()

    # --- results -------------------------------------------------------------------------------------

    def _nights(self) -> Iterator[SleepNight]:
        for night in self._sleep.nights(self.rank, lambda s: self._source_list[s][0]):
            self.report.produced["nights"] += 1
            yield night

    def _days(self) -> Iterator[DailySummary]:
        totals = {m: self._cumulative.daily_totals(m, self.rank) for m in self._cumulative.metrics()}
        days = set(self._summaries) | self._discrete.days()
        for by_day in totals.values():
            days |= set(by_day)
        stats = self._discrete
        for day in sorted(days):
            summary = self._summaries.get(day, {})
            active = totals.get("active_calories_kcal", {}).get(day, summary.get("active_calories_kcal"))
            basal = totals.get("basal_calories_kcal", {}).get(day)
            minutes = totals.get("active_minutes", {}).get(day, summary.get("active_minutes"))
            heart = stats.get("heart_rate", day)
            spo2 = stats.get("spo2", day)
            values: dict[str, Any] = {
                "steps": _whole(totals.get("steps", {}).get(day)),
                "distance_m": _whole(totals.get("distance_m", {}).get(day)),
                "active_calories_kcal": _whole(active),
                "total_calories_kcal": _whole(active + basal) if active is not None and basal is not None else None,
                "active_minutes": _whole(minutes),
                "floors_climbed": _whole(totals.get("floors_climbed", {}).get(day)),
                "resting_hr_bpm": _whole(_mean(stats.get("resting_hr_bpm", day))),
                "max_hr_bpm": _whole(heart[2]) if heart else None,
                "hrv_sdnn_ms": _round(_mean(stats.get("hrv_sdnn_ms", day)), 2),
                "spo2_avg_pct": _round(spo2[0], 1) if spo2 else None,
                "spo2_min_pct": _round(spo2[1], 1) if spo2 else None,
                "respiratory_rate_avg": _round(_mean(stats.get("respiratory_rate_avg", day)), 1),
                "vo2_max_ml_kg_min": _round(_mean(stats.get("vo2_max_ml_kg_min", day)), 1),
            }
            for column, value in values.items():
                bounds = hk.catalog(f"wearable_daily.{column}")[2]
                if value is not None and bounds and not bounds[0] <= value <= bounds[1]:
                    self.report.skip(f"daily {column}: value out of range", None)
                    values[column] = None
            goals = {k: round(v, 1) for k, v in summary.items() if k not in ("active_calories_kcal", "active_minutes")}
            if not any(v is not None for v in values.values()) and not goals:
                continue
            self.report.produced["days"] += 1
            yield DailySummary(day=day_date(day), **values, raw={"activity_summary": goals} if goals else {})


def _mean(stats: tuple[float, float, float] | None) -> float | None:
    return stats[0] if stats else None


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
