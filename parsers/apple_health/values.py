"""Reading the values of an export's attributes: dates with offsets, numbers, units, device strings.

One `Values` per pass holds the caches that make this cheap: a timestamp's minute is parsed once, a
unit's conversion is asked of the unit converter once per spelling, a device string is parsed once.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta, timezone

from parsers.apple_health import records as hk
from parsers.vocabulary.units import UnitError

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# "hardware:Watch6,12" holds a comma: a value runs to the next ", key:" or the closing ">".
# ":MM:SS" of a timestamp, separators included: a lookup both reads and checks it.
_HOURS = frozenset(f"{h:02d}" for h in range(24))
_MINUTES_SECONDS = {f":{m:02d}:{s:02d}": m * 60 + s for m in range(60) for s in range(60)}
_DEVICE_FIELD = re.compile(r"(name|manufacturer|model|hardware):(.*?)(?=, [a-z][a-z ]*:|>\s*$)")


class BadRecord(ValueError):
    """A record to skip; the message is the reason counted in the report."""


class Values:
    def __init__(self, units: dict[tuple[str, str, str], tuple[float, float] | None] | None = None) -> None:
        self._offsets: dict[str, int] = {}
        self._hours: dict[str, float] = {}
        # (unit, canonical unit, marker) → (factor, offset), None where the converter refuses it;
        # `units` seeds it with conversions resolved elsewhere.
        self.units: dict[tuple[str, str, str], tuple[float, float] | None] = dict(units or {})
        self._devices: dict[str, dict[str, str]] = {}

    def when(self, text: str | None) -> tuple[float, int]:
        """(epoch seconds, UTC offset in minutes) of 'YYYY-MM-DD HH:MM:SS ±HHMM'.

        Each part is looked up among the spellings already checked: the date and hour once per hour
        seen, the offset once per offset, minutes and seconds in a fixed table. A timestamp is then three
        dictionary lookups; anything else takes the checking path, which says what is wrong.
        """
        try:
            offset = self._offsets[text[19:]]  # type: ignore[index]
            return self._hours[text[:13]] + _MINUTES_SECONDS[text[13:19]] - offset * 60, offset  # type: ignore[index]
        except (KeyError, TypeError):
            return self._when_checked(text)

    def _when_checked(self, text: str | None) -> tuple[float, int]:
        if not text or len(text) != 25 or text[13:19] not in _MINUTES_SECONDS or text[19] != " ":
            raise BadRecord("invalid date")
        if text[4] != "-" or text[7] != "-" or text[10] != " " or text[11:13] not in _HOURS:
            raise BadRecord("invalid date")
        hour = self._hours.get(text[:13])
        if hour is None:
            if len(self._hours) > 4096:  # keep the cache bounded whatever the file holds
                self._hours.clear()
            try:
                day = date.fromisoformat(text[:10])
            except ValueError:
                raise BadRecord("invalid date") from None
            hour = self._hours[text[:13]] = float(day_number(day) * 86_400 + int(text[11:13]) * 3600)
        offset = self._offsets.get(text[19:])
        if offset is None:
            offset = self._offsets[text[19:]] = offset_minutes(text[20:])
        return hour + _MINUTES_SECONDS[text[13:19]] - offset * 60, offset

    def convert(self, metric: str, value: float, unit: str, canonical: str, marker: str | None = None) -> float:
        factor, shift = self.affine(metric, hk.apple_unit(unit, metric), canonical, marker)
        return value * factor + shift

    def affine(self, metric: str, unit: str, canonical: str, marker: str | None = None) -> tuple[float, float]:
        if unit in ("1", "count", "") and metric in hk.COUNTED_IN:
            unit = hk.COUNTED_IN[metric]
        key = (unit, canonical, marker or "")
        if key not in self.units:
            try:
                self.units[key] = hk.affine(unit, canonical, marker)
            except (UnitError, ValueError):
                self.units[key] = None
        conversion = self.units[key]
        if conversion is None:
            raise BadRecord(f"unit {unit!r} is not a unit of {metric}")
        return conversion

    def device(self, text: str | None) -> dict[str, str]:
        """The device's identity, without HKDevice's memory address, software version or creation date."""
        if not text:
            return {}
        device = self._devices.get(text)
        if device is None:
            if len(self._devices) > 4096:  # addresses differ between records: keep the cache bounded
                self._devices.clear()
            device = self._devices[text] = {k: v.strip() for k, v in _DEVICE_FIELD.findall(text)}
        return device


def number(text: str | None) -> float:
    if text is None:
        raise BadRecord("no value")
    try:
        value = float(text)
    except ValueError:
        raise BadRecord("value is not a number") from None
    if not math.isfinite(value):
        raise BadRecord("value is not a finite number")
    return value


def offset_minutes(text: str) -> int:
    if len(text) != 5 or text[0] not in "+-" or not (text[1:].isascii() and text[1:].isdigit()):
        raise BadRecord("invalid date")
    minutes = int(text[1:3]) * 60 + int(text[3:5])
    if minutes > 14 * 60:
        raise BadRecord("invalid date")
    return -minutes if text[0] == "-" else minutes


def aware(epoch: float, offset: int) -> datetime:
    return datetime.fromtimestamp(epoch, timezone(timedelta(minutes=offset)))


def day_date(day: int) -> date:
    """The date of day number `day` (days since 1970-01-01)."""
    return date.fromordinal(day + _EPOCH_ORDINAL)


def day_number(value: date) -> int:
    return value.toordinal() - _EPOCH_ORDINAL
