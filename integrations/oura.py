"""Oura API v2: the declaration, and how its documents become rows.

Facts from the provider reference (§1). Unconfirmed ones are fields of the declaration and can be
overridden per deployment: the token URL (newer apps use another host), access-token lifetime (trusted
from `expires_in`), the SpO2 scope spelling (`spo2` is requested; the sandbox accepts `spo2Daily` too),
the heart-rate window limit, the range end of each collection, and the webhook timestamp format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from db.models.enums import ActivityType, DataSource
from integrations.provider import (
    Endpoint,
    OAuthSpec,
    Provider,
    Quota,
    RangeParams,
    RateLimitHeaders,
    Record,
    Watch,
    WebhookSpec,
)
from integrations.rows import RowBuilder, measurement

USERCOLLECTION = "/v2/usercollection/"


def _dates(end_inclusive: bool, max_days: int = 90) -> RangeParams:
    return RangeParams("start_date", "end_date", "date", end_inclusive=end_inclusive, max_days=max_days)


def _list(name: str, scope: str, tables: tuple[str, ...], end_inclusive: bool) -> Endpoint:
    return Endpoint(
        name=name,
        path=USERCOLLECTION + name,
        pagination="next_token",
        data_key="data",
        scope=scope,
        range=_dates(end_inclusive),
        tables=tables,
        document_path=USERCOLLECTION + name,
    )


# Range ends (reference §1.3): daily_sleep, daily_readiness and daily_spo2 include end_date;
# daily_activity, sleep and workout treat it as exclusive. The window is padded a day on both sides
# and trimmed by `day` anyway, so a wrong guess here costs nothing but a day of overlap.
ENDPOINTS = (
    _list("daily_sleep", "daily", ("wearable_sleep",), end_inclusive=True),
    _list("sleep", "daily", ("wearable_sleep", "wearable_daily"), end_inclusive=False),
    _list("daily_readiness", "daily", ("wearable_daily",), end_inclusive=True),
    _list("daily_activity", "daily", ("wearable_daily",), end_inclusive=False),
    _list("workout", "workout", ("wearable_activities",), end_inclusive=False),
    _list("daily_spo2", "spo2", ("wearable_daily", "wearable_sleep"), end_inclusive=True),
    Endpoint(
        name="heartrate",
        path=USERCOLLECTION + "heartrate",
        pagination="next_token",
        data_key="data",
        scope="heartrate",
        # The longest accepted window is unconfirmed (said to be 30 days): keep chunks shorter.
        range=RangeParams("start_datetime", "end_datetime", "datetime", end_inclusive=False, max_days=30, pad_days=0),
        tables=("wearable_daily",),
        commit="chunk",
    ),
    Endpoint(
        name="personal_info",
        path=USERCOLLECTION + "personal_info",
        pagination="single",
        data_key=None,
        scope="personal",
        tables=("measurements",),
    ),
)

# Oura's stage digits in sleep_phase_5_min.
_STAGES = {"1": "deep", "2": "light", "3": "rem", "4": "awake"}

_ACTIVITIES: Mapping[str, ActivityType] = {
    "walking": ActivityType.WALKING,
    "running": ActivityType.RUNNING,
    "hiking": ActivityType.HIKING,
    "cycling": ActivityType.CYCLING,
    "swimming": ActivityType.SWIMMING,
    "rowing": ActivityType.ROWING,
    "elliptical": ActivityType.ELLIPTICAL,
    "stair_exercise": ActivityType.STAIR_CLIMBING,
    "strength_training": ActivityType.STRENGTH_TRAINING,
    "weightlifting": ActivityType.STRENGTH_TRAINING,
    "hiit": ActivityType.HIIT,
    "yoga": ActivityType.YOGA,
    "pilates": ActivityType.PILATES,
    "dancing": ActivityType.DANCE,
    "skiing": ActivityType.SKIING,
    "cross_country_skiing": ActivityType.SKIING,
    "tennis": ActivityType.RACKET_SPORT,
    "badminton": ActivityType.RACKET_SPORT,
    "soccer": ActivityType.TEAM_SPORT,
    "basketball": ActivityType.TEAM_SPORT,
    "meditation": ActivityType.MEDITATION,
}

# The sleep period that stands for the night: Oura's 'long_sleep' (> 3 h, counted in the daily scores).
# Naps ('sleep', 'late_nap') and rejected periods ('rest', 'deleted') are not the night's sleep.
MAIN_SLEEP_TYPES = ("long_sleep",)


def _day(item: Mapping[str, Any]) -> date:
    return date.fromisoformat(str(item["day"]))


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _daily_sleep(item: Mapping[str, Any]) -> list[Record]:
    row = RowBuilder("wearable_sleep", _day(item), sleep_date=_day(item))
    row.metric("sleep_score", item.get("score"), "1").set(raw_data={"daily_sleep": dict(item)})
    return [row.record()]


def _sleep(items: Sequence[Mapping[str, Any]]) -> list[Record]:
    nights: dict[date, Mapping[str, Any]] = {}
    for item in items:
        if item.get("type") not in MAIN_SLEEP_TYPES:
            continue
        day = _day(item)
        if day not in nights or (item.get("time_in_bed") or 0) > (nights[day].get("time_in_bed") or 0):
            nights[day] = item
    records = []
    for day, item in nights.items():
        readiness = item.get("readiness") or {}
        phases = item.get("sleep_phase_5_min")
        sleep = (
            RowBuilder("wearable_sleep", day, sleep_date=day)
            .set(sleep_start=_when(item.get("bedtime_start")), sleep_end=_when(item.get("bedtime_end")))
            .metric("total_sleep_minutes", item.get("total_sleep_duration"), "s")
            .metric("rem_minutes", item.get("rem_sleep_duration"), "s")
            .metric("deep_minutes", item.get("deep_sleep_duration"), "s")
            .metric("light_minutes", item.get("light_sleep_duration"), "s")
            .metric("awake_minutes", item.get("awake_time"), "s")
            .metric("sleep_latency_minutes", item.get("latency"), "s")
            .metric("sleep_efficiency_pct", item.get("efficiency"), "%")
            .metric("avg_hr_bpm", item.get("average_heart_rate"), "/min")
            .metric("min_hr_bpm", item.get("lowest_heart_rate"), "/min")
            .metric("avg_hrv_ms", item.get("average_hrv"), "ms")
            .metric("avg_respiratory_rate", item.get("average_breath"), "/min")
            .metric("avg_skin_temp_deviation_c", readiness.get("temperature_deviation"), "degC")
            .set(
                hypnogram=[_STAGES.get(p, "unknown") for p in phases] if phases else None,
                raw_data={"sleep": dict(item)},
            )
        )
        # Oura's resting heart rate and nightly HRV are the main sleep's lowest heart rate and average HRV.
        daily = (
            RowBuilder("wearable_daily", day, date=day)
            .metric("resting_hr_bpm", item.get("lowest_heart_rate"), "/min")
            .metric("hrv_rmssd_ms", item.get("average_hrv"), "ms")
            .metric("respiratory_rate_avg", item.get("average_breath"), "/min")
            .set(raw_data={"sleep": {"id": item.get("id"), "kept_in": "wearable_sleep.raw_data"}})
        )
        records += [sleep.record(), daily.record()]
    return records


def _daily_readiness(item: Mapping[str, Any]) -> list[Record]:
    row = RowBuilder("wearable_daily", _day(item), date=_day(item))
    row.metric("readiness_score", item.get("score"), "1")
    row.metric("skin_temp_deviation_c", item.get("temperature_deviation"), "degC")
    return [row.set(raw_data={"daily_readiness": dict(item)}).record()]


def _seconds(item: Mapping[str, Any], *keys: str) -> int | None:
    values = [item.get(k) for k in keys]
    return None if any(v is None for v in values) else sum(values)  # type: ignore[arg-type]


def _daily_activity(item: Mapping[str, Any]) -> list[Record]:
    row = RowBuilder("wearable_daily", _day(item), date=_day(item))
    row.metric("steps", item.get("steps"), "1")
    row.metric("active_calories_kcal", item.get("active_calories"), "kcal")
    row.metric("total_calories_kcal", item.get("total_calories"), "kcal")
    # Oura states distance only as "equivalent walking distance", the closest it has to distance covered.
    row.metric("distance_m", item.get("equivalent_walking_distance"), "m")
    row.metric(
        "active_minutes",
        _seconds(item, "low_activity_time", "medium_activity_time", "high_activity_time"),
        "s",
    )
    row.metric("moderate_intensity_minutes", item.get("medium_activity_time"), "s")
    row.metric("vigorous_intensity_minutes", item.get("high_activity_time"), "s")
    return [row.set(raw_data={"daily_activity": dict(item)}).record()]


def _daily_spo2(item: Mapping[str, Any]) -> list[Record]:
    day = _day(item)
    average = (item.get("spo2_percentage") or {}).get("average")
    raw = {"daily_spo2": dict(item)}
    daily = RowBuilder("wearable_daily", day, date=day).metric("spo2_avg_pct", average, "%").set(raw_data=raw)
    # Oura's SpO2 is recorded during sleep, so it is also the night's average.
    sleep = RowBuilder("wearable_sleep", day, sleep_date=day).metric("avg_spo2_pct", average, "%").set(raw_data=raw)
    return [daily.record(), sleep.record()]


def _workout(item: Mapping[str, Any]) -> list[Record]:
    start, end = _when(item.get("start_datetime")), _when(item.get("end_datetime"))
    activity = str(item.get("activity") or "")
    row = RowBuilder("wearable_activities", _day(item), activity_date=_day(item), source_activity_id=str(item["id"]))
    row.set(
        activity_type=_ACTIVITIES.get(activity.lower(), ActivityType.OTHER),
        activity_name=item.get("label") or activity or None,
        start_time=start,
        end_time=end,
    )
    row.metric("duration_seconds", (end - start).total_seconds() if start and end else None, "s")
    row.metric("distance_m", item.get("distance"), "m")
    row.metric("calories_kcal", item.get("calories"), "kcal")
    return [row.set(raw_data=dict(item)).record()]


def _heartrate(items: Sequence[Mapping[str, Any]]) -> list[Record]:
    """The day's highest heart rate, from a chunk of whole days of samples (the seed has no series table;
    the raw samples are not copied into a daily row, only the sample that gave the maximum)."""
    peaks: dict[date, Mapping[str, Any]] = {}
    counts: dict[date, int] = {}
    for item in items:
        if item.get("bpm") is None:
            continue
        day = datetime.fromisoformat(item["timestamp"]).date()
        counts[day] = counts.get(day, 0) + 1
        if day not in peaks or item["bpm"] > peaks[day]["bpm"]:
            peaks[day] = item
    return [
        RowBuilder("wearable_daily", day, date=day)
        .metric("max_hr_bpm", peak["bpm"], "/min")
        .set(raw_data={"heartrate": {"max_sample": dict(peak), "samples": counts[day]}})
        .record()
        for day, peak in sorted(peaks.items())
    ]


def _personal_info(item: Mapping[str, Any], as_of: datetime) -> list[Record]:
    # The document carries no date: a value is recorded as of the day it was read, once per day.
    day = as_of.astimezone(UTC).date()
    measured_at = datetime.combine(day, time(), tzinfo=UTC)
    records = [
        measurement("weight", item.get("weight"), "kg", measured_at, day),
        measurement("height", item.get("height"), "m", measured_at, day),
    ]
    return [r for r in records if r is not None]


_PER_ITEM = {
    "daily_sleep": _daily_sleep,
    "daily_readiness": _daily_readiness,
    "daily_activity": _daily_activity,
    "daily_spo2": _daily_spo2,
    "workout": _workout,
}


def normalize(endpoint: str, items: Sequence[Mapping[str, Any]], *, as_of: datetime | None = None) -> list[Record]:
    """Rows for the seed-003 tables from one page (or chunk) of `endpoint`'s documents."""
    if endpoint in _PER_ITEM:
        return [record for item in items for record in _PER_ITEM[endpoint](item)]
    if endpoint == "sleep":
        return _sleep(items)
    if endpoint == "heartrate":
        return _heartrate(items)
    if endpoint == "personal_info":
        return [record for item in items for record in _personal_info(item, as_of or datetime.now(UTC))]
    raise KeyError(f"oura has no endpoint {endpoint!r}")


PROVIDER = Provider(
    name="oura",
    source=DataSource.OURA,
    oauth=OAuthSpec(
        authorize_url="https://cloud.ouraring.com/oauth/authorize",
        # Apps registered on the newer developer portal refresh at moi.ouraring.com: override per app.
        token_url="https://api.ouraring.com/oauth/token",
        revoke_url="https://api.ouraring.com/oauth/revoke",
        scopes=("email", "personal", "daily", "heartrate", "workout", "spo2"),
        pkce=False,
        client_auth="client_secret_post",
        revoke_token_in="query",
        revoke_token_param="access_token",
    ),
    api_base="https://api.ouraring.com",
    endpoints=ENDPOINTS,
    normalize=normalize,
    rate_limit=RateLimitHeaders(
        retry_after="Retry-After",
        reset="X-RateLimit-Reset",
        limit="X-RateLimit-Limit",
        window="X-RateLimit-Window",
        tier="X-RateLimit-Tier",
    ),
    quota=Quota(requests=5000, seconds=300),
    history_days=None,
    identity=("personal_info", "id"),
    webhook=WebhookSpec(
        signature_header="x-oura-signature",
        timestamp_header="x-oura-timestamp",
        digest="hex_upper",
        tolerance_seconds=300,
        timestamp_unit="s",
        challenge_param="challenge",
        verification_token_param="verification_token",
        data_types=("daily_sleep", "sleep", "daily_readiness", "daily_activity", "workout", "daily_spo2"),
    ),
    watches=(
        Watch("sleep", "daily_activity", max_gap_hours=36),
        Watch("daily_readiness", "daily_activity", max_gap_hours=36),
    ),
)
