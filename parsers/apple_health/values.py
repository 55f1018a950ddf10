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

_EPOCH = datetime(1970, 1, 1)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# "hardware:Watch6,12" holds a comma: a value runs to the next ", key:" or the closing ">".
_DEVICE_FIELD = re.compile(r"(name|manufacturer|model|hardware):(.*?)(?=, [a-z][a-z ]*:|>\s*$)")


class BadRecord(ValueError):
    """A record to skip; the message is the reason counted in the report."""


class Values:
    def __init__(self) -> None:
        self._offsets: dict[str, int] = {}
        self._minutes: dict[str, float] = {}
        self._units: dict[tuple[str, str, str], tuple[float, float] | None] = {}
        self._devices: dict[str, dict[str, str]] = {}

    def when(self, text: str | None) -> tuple[float, int]:
        """(epoch seconds, UTC offset in minutes) of 'YYYY-MM-DD HH:MM:SS ±HHMM'.

        Records of one minute share the date, hour and minute: that part is parsed (and validated) once
        per minute seen, the seconds every time.
        """
        if not text or len(text) != 25 or text[19] != " " or text[16] != ":":
            raise BadRecord("invalid date")
        minute = self._minutes.get(text[:16])
        if minute is None:
            if len(self._minutes) > 4096:  # records come in time order within a type: recent minutes suffice
                self._minutes.clear()
            try:
                naive = datetime.fromisoformat(text[:16])
            except ValueError:
                raise BadRecord("invalid date") from None
            minute = self._minutes[text[:16]] = (naive - _EPOCH).total_seconds()
        offset = self._offsets.get(text[20:])
        if offset is None:
            offset = self._offsets[text[20:]] = offset_minutes(text[20:])
        seconds = text[17:19]
        if not seconds.isdigit() or seconds > "59":
            raise BadRecord("invalid date")
        return minute + int(seconds) - offset * 60, offset

    def convert(self, metric: str, value: float, unit: str, canonical: str, marker: str | None = None) -> float:
        factor, shift = self.affine(metric, hk.apple_unit(unit, metric), canonical, marker)
        return value * factor + shift

    def affine(self, metric: str, unit: str, canonical: str, marker: str | None = None) -> tuple[float, float]:
        key = (unit, canonical, marker or "")
        if key not in self._units:
            try:
                self._units[key] = hk.affine(unit, canonical, marker)
            except (UnitError, ValueError):
                self._units[key] = None
        conversion = self._units[key]
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
    if len(text) != 5 or text[0] not in "+-" or not text[1:].isdigit():
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
