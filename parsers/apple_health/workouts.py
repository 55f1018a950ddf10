"""A Workout element (with its statistics, events, route reference and metadata) as a `Workout`."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from parsers.apple_health import records as hk
from parsers.apple_health.daily import DAY
from parsers.apple_health.records import Workout
from parsers.apple_health.values import BadRecord, Values, aware, day_date, number


def read_workout(elem: Any, values: Values) -> Workout:
    attrib = elem.attrib
    hk_type = attrib.get("workoutActivityType") or ""
    start, offset = values.when(attrib.get("startDate"))
    end, end_offset = values.when(attrib.get("endDate"))
    if end < start:
        raise BadRecord("ends before it starts")
    source_name = attrib.get("sourceName") or ""
    statistics: dict[str, dict[str, float | str]] = {}
    for stat in elem.iter("WorkoutStatistics"):
        name = (stat.get("type") or "").removeprefix("HKQuantityTypeIdentifier")
        figures: dict[str, float | str] = {"unit": stat.get("unit") or ""}
        for field in ("sum", "average", "minimum", "maximum"):
            if stat.get(field) is not None:
                figures[field] = number(stat.get(field))
        statistics.setdefault(name, figures)
    metadata: dict[str, str] = {}
    for entry in elem.iterchildren("MetadataEntry"):
        metadata.setdefault(entry.get("key") or "", entry.get("value") or "")  # a key can repeat
    events = [
        {"type": (e.get("type") or "").removeprefix("HKWorkoutEventType"), "date": e.get("date")}
        for e in elem.iter("WorkoutEvent")
    ]
    routes = [ref.get("path") for ref in elem.iter("FileReference") if ref.get("path")]

    duration = end - start
    if attrib.get("duration"):
        duration = values.convert(
            "duration_seconds", number(attrib["duration"]), attrib.get("durationUnit") or "min", "s"
        )
    distance = _total(values, attrib, "totalDistance", "distance_m", "m")
    if distance is None:
        sums = [s for name, s in statistics.items() if name.startswith("Distance") and "sum" in s]
        if sums:
            distance = values.convert("distance_m", float(sums[0]["sum"]), str(sums[0]["unit"]), "m")
    calories = _total(values, attrib, "totalEnergyBurned", "calories_kcal", "kcal")
    energy = statistics.get("ActiveEnergyBurned")
    if calories is None and energy and "sum" in energy:
        calories = values.convert("calories_kcal", float(energy["sum"]), str(energy["unit"]), "kcal")
    heart = statistics.get("HeartRate", {})
    avg_hr = _stat(values, heart, "average")
    max_hr = _stat(values, heart, "maximum")
    elevation = _quantity_text(values, metadata.get("HKElevationAscended"), "m")

    activity_type = hk.ACTIVITY_TYPES.get(hk_type, "other")
    speed, pace = speed_and_pace(activity_type, distance, duration)
    key = f"{hk_type}|{int(start)}|{source_name}"
    return Workout(
        source_activity_id=hashlib.sha256(key.encode()).hexdigest()[:32],
        activity_date=day_date(int((start + offset * 60) // DAY)),
        activity_type=activity_type,
        activity_name=_label(hk_type),
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
        raw={
            "type": hk_type,
            "source_name": source_name,
            "device": values.device(attrib.get("device")),
            "statistics": statistics,
            "events": events,
            "routes": routes,
            "metadata": metadata,
        },
    )


def _total(values: Values, attrib: Any, name: str, field: str, unit: str) -> float | None:
    raw = attrib.get(name)
    if raw is None:
        return None
    return values.convert(field, number(raw), attrib.get(f"{name}Unit") or unit, unit)


def _stat(values: Values, stat: dict[str, float | str], field: str) -> float | None:
    if field not in stat:
        return None
    return values.convert("heart_rate", float(stat[field]), str(stat.get("unit") or "count/min"), "/min")


def _quantity_text(values: Values, text: str | None, unit: str) -> float | None:
    """A metadata value that carries its unit inside the string ("418 cm")."""
    if not text:
        return None
    amount, _, given = text.strip().partition(" ")
    try:
        return values.convert("elevation", number(amount), given or unit, unit)
    except BadRecord:
        return None


def _label(hk_type: str) -> str:
    name = hk_type.removeprefix("HKWorkoutActivityType")
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name) or "Workout"


def speed_and_pace(activity_type: str, distance_m: float | None, seconds: float) -> tuple[float | None, float | None]:
    """Average speed in km/h, and for activities on foot the pace in seconds per km (an export's or a push's)."""
    if not distance_m or seconds <= 0:
        return None, None
    speed = round(distance_m / 1000 / (seconds / 3600), 2)
    pace = round(seconds / (distance_m / 1000), 2) if activity_type in {"running", "walking", "hiking"} else None
    return speed, pace
