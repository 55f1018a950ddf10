"""Nights of sleep from sleep-analysis segments.

Segments come from several sources at once (the Watch's stages, the iPhone's bedtime "in bed", sleep
apps), and they overlap: stages are summed per source, never across sources. A source's segments form
one session until a gap of `SESSION_GAP`; a session belongs to the local date on which it ended, in the
offset the record carries (a night from 23:00 to 07:00 at +02:00 is the morning's date, whatever UTC
says). For each date the highest-priority source with asleep segments gives the night, and of its
sessions ending that date the one with the most sleep (a nap ending the same day is not the night).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

from parsers.apple_health.daily import DAY
from parsers.apple_health.records import SleepNight

SESSION_GAP = 3 * 3600  # seconds awake that end a session
ASLEEP = frozenset({"asleep", "core", "deep", "rem"})


class SleepSegments:
    def __init__(self) -> None:
        self._by_source: dict[int, list[tuple[float, float, int, str]]] = {}

    def add(self, source: int, start: float, end: float, offset_minutes: int, stage: str) -> None:
        if end > start:
            self._by_source.setdefault(source, []).append((start, end, offset_minutes, stage))

    def merge(self, other: SleepSegments, sources: list[int]) -> None:
        for source, segments in other._by_source.items():
            self._by_source.setdefault(sources[source], []).extend(segments)

    def nights(self, rank: Callable[[int], tuple[int, str]], source_name: Callable[[int], str]) -> list[SleepNight]:
        best: dict[int, tuple[tuple[int, str], int, list[tuple[float, float, int, str]]]] = {}
        for source, segments in self._by_source.items():
            for day, sessions in _sessions_by_day(sorted(segments)).items():
                # The night is the session with the most sleep; a nap ending the same day is left out.
                session = max(
                    sessions, key=lambda s: (_minutes([(a, b) for a, b, _, st in s if st in ASLEEP]), s[0][0])
                )
                has_sleep = any(stage in ASLEEP for *_, stage in session)
                # A source with stages beats an "in bed" one whatever its rank.
                key = (0 if has_sleep else 1, *rank(source))
                if day not in best or key < best[day][0]:
                    best[day] = (key, source, session)
        return [_night(day, session, source_name(source)) for day, (_, source, session) in sorted(best.items())]


def _sessions_by_day(
    segments: list[tuple[float, float, int, str]],
) -> dict[int, list[list[tuple[float, float, int, str]]]]:
    sessions: list[list[tuple[float, float, int, str]]] = []
    session_end = float("-inf")
    for segment in segments:
        if segment[0] - session_end > SESSION_GAP:
            sessions.append([])
        sessions[-1].append(segment)
        session_end = max(session_end, segment[1])
    by_day: dict[int, list[list[tuple[float, float, int, str]]]] = {}
    for session in sessions:
        last = max(session, key=lambda s: s[1])
        day = int((last[1] + last[2] * 60) // DAY)
        by_day.setdefault(day, []).append(session)
    return by_day


def _minutes(intervals: list[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total / 60.0


def _night(day: int, session: list[tuple[float, float, int, str]], source_name: str) -> SleepNight:
    segments = sorted(session)
    by_stage: dict[str, list[tuple[float, float]]] = {}
    for start, end, _, stage in segments:
        by_stage.setdefault(stage, []).append((start, end))
    asleep = [iv for stage in ASLEEP for iv in by_stage.get(stage, [])]
    in_bed = by_stage.get("in_bed", [])
    # The night runs from falling asleep to the last segment that is not merely "in bed".
    chosen = [s for s in segments if s[3] != "in_bed"] or segments
    start_seg = min((s for s in chosen if s[3] in ASLEEP), default=chosen[0], key=lambda s: s[0])
    end_seg = max(chosen, key=lambda s: s[1])
    staged = any(stage in by_stage for stage in ("core", "deep", "rem"))
    total = _minutes(asleep) if asleep else None
    in_bed_minutes = _minutes(in_bed)
    efficiency = None
    if total is not None and in_bed_minutes > 0:
        efficiency = round(min(100.0, 100.0 * total / in_bed_minutes), 1)
    return SleepNight(
        sleep_date=_date(day),
        sleep_start=_local(start_seg[0], start_seg[2]),
        sleep_end=_local(end_seg[1], end_seg[2]),
        total_sleep_minutes=round(total) if total is not None else None,
        rem_minutes=round(_minutes(by_stage.get("rem", []))) if staged else None,
        deep_minutes=round(_minutes(by_stage.get("deep", []))) if staged else None,
        light_minutes=round(_minutes(by_stage.get("core", []))) if staged else None,
        awake_minutes=round(_minutes(by_stage.get("awake", []))) if "awake" in by_stage or staged else None,
        interruptions=len(by_stage.get("awake", [])) if asleep else None,
        sleep_efficiency_pct=efficiency,
        hypnogram=[
            {"t": _local(start, offset).isoformat(), "stage": stage}
            for start, _, offset, stage in segments
            if stage != "in_bed"
        ],
        source_name=source_name,
    )


def _date(day: int):
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).date()


def _local(epoch: float, offset_minutes: int) -> datetime:
    return datetime.fromtimestamp(epoch, timezone(timedelta(minutes=offset_minutes)))
