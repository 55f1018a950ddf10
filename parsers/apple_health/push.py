"""What the iOS app Health Auto Export posts (its REST API automation, JSON) as the export's records.

The body is `{"data": {"metrics": [...], "workouts": [...], ...}}`; a metric is `{"name", "units",
"data": [points]}`, a point `{"qty", "date": "yyyy-MM-dd HH:mm:ss Z", "source"}` (heart rate has
`Min`/`Avg`/`Max`, blood pressure `systolic`/`diastolic`, sleep its own shapes). Values are in the
person's units and are converted through the unit converter. Samples feed the same accumulators as an
export.zip (`AppleHealthExport`), so days and nights are computed by the same code and written to the
same rows (source `apple_health`). Heart rate variability is SDNN, as in the export.

**Which days a push may write.** A push says nothing about the range it covers, and the app sends
"today so far" many times a day; a partial day must never overwrite a complete one (from an export or
an earlier push). So a push writes a day's daily summary only when it holds that day whole: the day
(midnight to midnight in the offset its samples carry) ended before the push arrived, and the push's
earliest sample is no later than the day's first instant (its range began before the day did; with
the app's daily aggregation, the day's own bucket starts exactly at midnight). Other days are left
out and listed (`partial_days`). Of a whole day only the columns of metrics the push has samples of
on that day are written, so a push of heart rate alone leaves steps as they were (a value is never
erased with nothing). Measurements, workouts and nights that ended before
the push arrived are each whole on their own and always written.

`parse_push` checks the shape (Pydantic) and raises `PushError` for a body that is not a push;
points that cannot be used (a bad date, a value that is not a number, a unit that is not the
metric's, a value out of range) are skipped and counted, like an export's records.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from parsers.apple_health import records as hk
from parsers.apple_health.daily import DAY
from parsers.apple_health.reader import AppleHealthExport
from parsers.apple_health.records import DailySummary, ImportReport, Measurement, SleepNight, Workout
from parsers.apple_health.values import BadRecord, Values, aware, day_date, number
from parsers.apple_health.workouts import speed_and_pace
from parsers.vocabulary.metrics import get_metric

# --- the body's shape ------------------------------------------------------------------------------


class PushError(ValueError):
    """The body is not a Health Auto Export push; the message says what is wrong, never a value."""


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class PushMetric(_Loose):
    name: str
    units: str = ""
    data: list[dict[str, Any]] = []


class PushWorkout(_Loose):
    name: str = "Workout"
    start: str
    end: str
    id: str | None = None


class PushData(_Loose):
    metrics: list[PushMetric] = []
    workouts: list[PushWorkout] = []


class PushBody(_Loose):
    data: PushData


def parse_push(body: bytes) -> PushBody:
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PushError(f"the body is not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise PushError(f"the body is not JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        raise PushError('the body is not a Health Auto Export push: expected {"data": {"metrics": [...], ...}}')
    try:
        return PushBody.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg'].lower()}" for error in exc.errors()[:5]
        )
        raise PushError(f"the push does not have the expected shape ({problems})") from None


# --- metric names ----------------------------------------------------------------------------------

# Health Auto Export's names (the Health app's names in snake_case) of the export's quantities.
CUMULATIVE = {
    "step_count": "steps",
    "walking_running_distance": "distance_m",
    "active_energy": "active_calories_kcal",
    "basal_energy_burned": "basal_calories_kcal",
    "resting_energy": "basal_calories_kcal",
    "flights_climbed": "floors_climbed",
    "apple_exercise_time": "active_minutes",
}
DISCRETE = {
    "heart_rate": "heart_rate",
    "resting_heart_rate": "resting_hr_bpm",
    "heart_rate_variability": "hrv_sdnn_ms",  # SDNN, as HealthKit measures it
    "blood_oxygen_saturation": "spo2",
    "respiratory_rate": "respiratory_rate_avg",
    "vo2_max": "vo2_max_ml_kg_min",
}
MEASUREMENTS = {
    "weight_body_mass": "weight",
    "body_fat_percentage": "body_fat_pct",
    "body_mass_index": "bmi",
    "height": "height",
    "lean_body_mass": "lean_body_mass",
    "waist_circumference": "waist_circumference",
    "blood_glucose": "blood_glucose",
    "body_temperature": "body_temperature",
}
BLOOD_PRESSURE = "blood_pressure"
SLEEP = "sleep_analysis"

# The daily columns each metric fills: a push writes only these, so what it does not carry stays as it was.
DAILY_COLUMNS = {
    "steps": ("steps",),
    "distance_m": ("distance_m",),
    "active_calories_kcal": ("active_calories_kcal",),
    "floors_climbed": ("floors_climbed",),
    "active_minutes": ("active_minutes",),
    "heart_rate": ("max_hr_bpm",),
    "resting_hr_bpm": ("resting_hr_bpm",),
    "hrv_sdnn_ms": ("hrv_sdnn_ms",),
    "spo2": ("spo2_avg_pct", "spo2_min_pct"),
    "respiratory_rate_avg": ("respiratory_rate_avg",),
    "vo2_max_ml_kg_min": ("vo2_max_ml_kg_min",),
}
DAILY_VALUE_COLUMNS = frozenset({"total_calories_kcal", "raw_data"}.union(*DAILY_COLUMNS.values()))
# Columns an aggregated night does not know (it has no segments): left as an export wrote them.
AGGREGATED_NIGHT_UNKNOWN = ("hypnogram", "interruptions")

# The app's spellings the unit converter does not read as they are. Its percentages are percents
# (SpO2 97 "%"), unlike the export's fractions.
_UNITS = {
    "bpm": "/min",
    "count/min": "/min",
    "count": "1",
    "ml/(kg·min)": "mL/kg/min",
    "ml/(kg*min)": "mL/kg/min",
    "mL/min·kg": "mL/kg/min",
    "hr": "h",
    "ºF": "degF",
    "ºC": "degC",
}
_SLEEP_VALUES = {
    "in bed": "in_bed",
    "inbed": "in_bed",
    "asleep": "asleep",
    "unspecified": "asleep",
    "awake": "awake",
    "core": "core",
    "deep": "deep",
    "rem": "rem",
}
_WORKOUT_ALIASES = {
    "Outdoor Run": "Running",
    "Indoor Run": "Running",
    "Outdoor Walk": "Walking",
    "Indoor Walk": "Walking",
    "Outdoor Cycle": "Cycling",
    "Indoor Cycle": "Cycling",
    "Pool Swim": "Swimming",
    "Open Water Swim": "Swimming",
    "Strength Training": "Traditional Strength Training",
    "HIIT": "High Intensity Interval Training",
}


# --- the mapping -----------------------------------------------------------------------------------


@dataclass(slots=True)
class PushRecords:
    items: list[Measurement | Workout | DailySummary | SleepNight]
    report: ImportReport
    # table -> columns this push must leave as they are (it does not know them)
    omit: dict[str, frozenset[str]]
    whole_days: list[date] = field(default_factory=list)
    partial_days: list[date] = field(default_factory=list)
    # day -> daily columns of metrics the push has no sample of that day: never erased with nothing
    daily_omit: dict[date, frozenset[str]] = field(default_factory=dict)

    def batches(self) -> Iterator[tuple[list[Any], dict[str, frozenset[str]]]]:
        """The records in groups that each write the same columns (a batch upsert writes one set)."""
        groups: dict[frozenset[str], list[Any]] = {}
        for item in self.items:
            key = self.daily_omit.get(item.day, frozenset()) if isinstance(item, DailySummary) else frozenset()
            groups.setdefault(key, []).append(item)
        for daily, items in groups.items():
            yield items, {**self.omit, "wearable_daily": daily}

    def summary(self) -> dict[str, Any]:
        return {
            **self.report.as_dict(),
            "whole_days": [d.isoformat() for d in self.whole_days],
            "partial_days": [d.isoformat() for d in self.partial_days],
        }


def push_records(body: bytes | PushBody, received_at: datetime) -> PushRecords:
    """The records of a push that arrived at `received_at` (an aware datetime)."""
    push = body if isinstance(body, PushBody) else parse_push(body)
    return _Mapper(received_at).map(push)


class _Mapper:
    def __init__(self, received_at: datetime) -> None:
        if received_at.tzinfo is None:
            raise ValueError("received_at must carry its time zone")
        self.received = received_at.timestamp()
        self.values = Values()
        self.samples = AppleHealthExport(io.BytesIO())
        self.report = self.samples.report
        self.earliest = math.inf
        self.day_offsets: dict[int, int] = {}
        self.daily_metrics: dict[int, set[str]] = {}
        self.aggregated_sleep = False

    def map(self, push: PushBody) -> PushRecords:
        items: list[Any] = []
        for metric in push.data.metrics:
            for index, point in enumerate(metric.data):
                self.report.records += 1
                try:
                    items.extend(self._point(metric, point))
                except BadRecord as reason:
                    self.report.skip(f"{metric.name}: {reason}", index)
        for index, workout in enumerate(push.data.workouts):
            self.report.records += 1
            try:
                items.append(self._workout(workout))
            except BadRecord as reason:
                self.report.skip(f"workout: {reason}", index)
        for name in push.data.model_extra or {}:
            self.report.unknown_types[name] += 1
        records = PushRecords(items, self.report, {})
        for item in self.samples.summaries():
            if isinstance(item, SleepNight):
                if item.sleep_end.timestamp() <= self.received:
                    items.append(item)
                continue
            if self._whole(item.day):
                records.whole_days.append(item.day)
                items.append(item)
            else:
                records.partial_days.append(item.day)
        self._columns(records)
        # Counted here, once the partial days are out (the accumulators counted every day they made).
        produced = self.report.produced
        produced.clear()
        tables = {Measurement: "measurements", Workout: "workouts", SleepNight: "nights", DailySummary: "days"}
        for item in items:
            produced[tables[type(item)]] += 1
        return records

    # --- points --------------------------------------------------------------------------------------

    def _point(self, metric: PushMetric, point: dict[str, Any]) -> Iterator[Measurement | SleepNight]:
        name = metric.name
        if name == SLEEP:
            yield from self._sleep(point)
            return
        if name in CUMULATIVE:
            field_name = CUMULATIVE[name]
            start, offset = self._when(point.get("date"))
            canonical = hk.catalog_unit(hk.DAILY_METRIC_KEYS[field_name])
            value = self._convert(field_name, _number(point.get("qty")), metric.units, canonical)
            if value < 0:
                raise BadRecord("negative amount")
            self.samples.add_cumulative(field_name, start, start, offset, value, str(point.get("source") or ""))
            self._daily(field_name, start, offset)
        elif name in DISCRETE:
            field_name = DISCRETE[name]
            start, offset = self._when(point.get("date"))
            key = hk.DAILY_METRIC_KEYS[field_name]
            raw = [point["qty"]] if "qty" in point else [point.get(k) for k in ("Min", "Avg", "Max") if k in point]
            if not raw:
                raise BadRecord("no value")
            bounds = get_metric("wearable_daily.spo2_min_pct" if field_name == "spo2" else key).valid_range
            for amount in raw:
                value = self._convert(field_name, _number(amount), metric.units, hk.catalog_unit(key))
                if bounds and not bounds[0] <= value <= bounds[1]:
                    raise BadRecord("value out of range")
                self.samples.add_discrete(field_name, start, offset, value)
            self._daily(field_name, start, offset)
        elif name in MEASUREMENTS:
            yield self._measurement(MEASUREMENTS[name], point, point.get("qty"), metric.units)
        elif name == BLOOD_PRESSURE:
            units = metric.units or "mmHg"
            yield self._measurement("blood_pressure_systolic", point, point.get("systolic"), units)
            yield self._measurement("blood_pressure_diastolic", point, point.get("diastolic"), units)
        else:
            self.report.unknown_types[name] += 1

    def _measurement(self, metric: str, point: dict[str, Any], amount: Any, units: str) -> Measurement:
        start, offset = self._when(point.get("date"))
        catalog = get_metric(metric)
        value = self._convert(metric, _number(amount), units, catalog.canonical_unit, marker=catalog.marker)
        if catalog.valid_range and not catalog.valid_range[0] <= value <= catalog.valid_range[1]:
            raise BadRecord("value out of range")
        return Measurement(metric, round(value, 3), catalog.canonical_unit, aware(start, offset))

    def _sleep(self, point: dict[str, Any]) -> Iterator[SleepNight]:
        if "sleepEnd" in point or "totalSleep" in point or "inBed" in point:
            self.aggregated_sleep = True
            night = self._aggregated_night(point)
            if night.sleep_end.timestamp() <= self.received:
                yield night
            return
        stage = _SLEEP_VALUES.get(str(point.get("value") or "").strip().lower())
        if stage is None:
            raise BadRecord("unknown sleep value")
        start, offset = self._when(point.get("startDate"))
        end, _ = self._when(point.get("endDate"))
        if end < start:
            raise BadRecord("ends before it starts")
        self.samples.add_sleep(str(point.get("source") or ""), start, end, offset, stage)

    def _aggregated_night(self, point: dict[str, Any]) -> SleepNight:
        """A night the app summed (durations in hours; `asleep` is sleep of no stage, not the total)."""
        start, start_offset = self._when(point.get("sleepStart") or point.get("inBedStart"))
        end, end_offset = self._when(point.get("sleepEnd") or point.get("inBedEnd"))
        if end < start:
            raise BadRecord("ends before it starts")
        hours = {
            k: _number(point[k])
            for k in ("totalSleep", "asleep", "core", "deep", "rem", "awake", "inBed")
            if k in point
        }
        if any(h < 0 or h > 24 for h in hours.values()):
            raise BadRecord("value out of range")
        staged = any(k in hours for k in ("core", "deep", "rem"))
        total = hours.get("totalSleep")
        if total is None and any(k in hours for k in ("asleep", "core", "deep", "rem")):
            total = sum(hours.get(k, 0.0) for k in ("asleep", "core", "deep", "rem"))
        in_bed = hours.get("inBed")
        efficiency = round(min(100.0, 100.0 * total / in_bed), 1) if total is not None and in_bed else None
        self.earliest = min(self.earliest, start)
        return SleepNight(
            sleep_date=day_date(int((end + end_offset * 60) // DAY)),
            sleep_start=aware(start, start_offset),
            sleep_end=aware(end, end_offset),
            total_sleep_minutes=_minutes(total),
            rem_minutes=_minutes(hours.get("rem")) if staged else None,
            deep_minutes=_minutes(hours.get("deep")) if staged else None,
            light_minutes=_minutes(hours.get("core")) if staged else None,
            awake_minutes=_minutes(hours.get("awake")),
            interruptions=None,
            sleep_efficiency_pct=efficiency,
            hypnogram=[],
            source_name=str(point.get("source") or point.get("sleepSource") or ""),
        )

    # --- workouts ------------------------------------------------------------------------------------

    def _workout(self, workout: PushWorkout) -> Workout:
        extra = workout.model_extra or {}
        start, offset = self._when(workout.start)
        end, end_offset = self._when(workout.end)
        if end < start:
            raise BadRecord("ends before it starts")
        name = _WORKOUT_ALIASES.get(workout.name.strip(), workout.name.strip())
        hk_type = "HKWorkoutActivityType" + re.sub(r"[^A-Za-z]", "", name.title() if name.islower() else name)
        duration = end - start
        if isinstance(extra.get("duration"), int | float) and not isinstance(extra.get("duration"), bool):
            duration = float(extra["duration"])  # seconds (workouts version 2)
        distance = self._quantity(extra.get("distance"), "distance_m", "m")
        calories = self._quantity(extra.get("activeEnergyBurned") or extra.get("activeEnergy"), "calories", "kcal")
        heart = extra.get("heartRate") if isinstance(extra.get("heartRate"), dict) else {}
        avg_hr = self._quantity(heart.get("avg") or extra.get("avgHeartRate"), "heart_rate", "/min")
        max_hr = self._quantity(heart.get("max") or extra.get("maxHeartRate"), "heart_rate", "/min")
        elevation = self._quantity(extra.get("elevationUp"), "elevation", "m")
        activity_type = hk.ACTIVITY_TYPES.get(hk_type, "other")
        speed, pace = speed_and_pace(activity_type, distance, duration)
        # The app's id for the workout (HealthKit's UUID) when it sends one; the same workout in the next
        # push is the same row. Its source is not sent: the writer matches it with an export's row of the
        # same workout by type and start (db.apple_health).
        identity = workout.id or f"{hk_type}|{int(start)}"
        self.earliest = min(self.earliest, start)
        return Workout(
            source_activity_id=hashlib.sha256(f"push|{identity}".encode()).hexdigest()[:32],
            activity_date=day_date(int((start + offset * 60) // DAY)),
            activity_type=activity_type,
            activity_name=name or "Workout",
            start_time=aware(start, offset),
            end_time=aware(end, end_offset),
            duration_seconds=round(duration),
            distance_m=round(distance, 2) if distance is not None else None,
            calories_kcal=round(calories) if calories is not None else None,
            avg_hr_bpm=round(avg_hr) if avg_hr is not None else None,
            max_hr_bpm=round(max_hr) if max_hr is not None else None,
            avg_speed_kmh=speed,
            avg_pace_sec_per_km=pace,
            elevation_gain_m=round(elevation, 2) if elevation is not None else None,
            raw={"type": hk_type, "push_id": workout.id, "name": workout.name, "location": extra.get("location")},
        )

    def _quantity(self, quantity: Any, metric: str, canonical: str) -> float | None:
        if not isinstance(quantity, dict) or quantity.get("qty") is None:
            return None
        return self._convert(metric, _number(quantity["qty"]), str(quantity.get("units") or canonical), canonical)

    # --- values --------------------------------------------------------------------------------------

    def _when(self, text: Any) -> tuple[float, int]:
        when = self.values.when(text if isinstance(text, str) else None)
        self.earliest = min(self.earliest, when[0])
        return when

    def _convert(self, metric: str, value: float, unit: str, canonical: str, marker: str | None = None) -> float:
        unit = unit.strip() or "1"
        factor, shift = self.values.affine(metric, _UNITS.get(unit, unit), canonical, marker)
        return value * factor + shift

    def _daily(self, field_name: str, start: float, offset: int) -> None:
        day = int((start + offset * 60) // DAY)
        self.daily_metrics.setdefault(day, set()).add(field_name)
        self.day_offsets.setdefault(day, offset)

    def _whole(self, day: date) -> bool:
        number = (day - date(1970, 1, 1)).days
        offset = self.day_offsets.get(number, 0) * 60
        first, last = number * DAY - offset, (number + 1) * DAY - offset
        return last <= self.received and self.earliest <= first

    def _columns(self, records: PushRecords) -> None:
        for day in records.whole_days:
            metrics = self.daily_metrics.get((day - date(1970, 1, 1)).days, set())
            written: set[str] = set()
            for field_name in metrics:
                written.update(DAILY_COLUMNS.get(field_name, ()))
            if {"active_calories_kcal", "basal_calories_kcal"} <= metrics:
                written.add("total_calories_kcal")
            # raw_data holds the export's activity summary (goals), which a push does not carry.
            records.daily_omit[day] = frozenset(DAILY_VALUE_COLUMNS - written)
        if self.aggregated_sleep:
            records.omit["wearable_sleep"] = frozenset(AGGREGATED_NIGHT_UNKNOWN)


def _number(raw: Any) -> float:
    """A JSON value as the export's attribute text would be read (a float's str round-trips exactly)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise BadRecord("no value" if raw is None else "value is not a number")
    return number(str(raw))


def _minutes(hours: float | None) -> int | None:
    return None if hours is None else round(hours * 60)
