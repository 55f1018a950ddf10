"""Building table rows from provider values: every number through the metric catalog and unit converter.

A value the catalog refuses (outside the metric's range, or in a unit that cannot convert) is dropped
from its row and the field named in `Record.refused`, so one impossible reading never blocks a sync and
never passes silently either.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Integer

from db.models import Base
from integrations.provider import Record
from parsers.vocabulary.metrics import get_metric, normalize_metric_value


class RowBuilder:
    def __init__(self, table: str, day: date, **identity: Any) -> None:
        self.table = table
        self.day = day
        self.values: dict[str, Any] = dict(identity)
        self.refused: list[str] = []
        self._columns = Base.metadata.tables[table].c

    def metric(self, column: str, value: Any, unit: str) -> RowBuilder:
        """Set `column` from `value` given in `unit`, converted to the catalog's canonical unit."""
        if value is None:
            self.values[column] = None
            return self
        try:
            canonical = normalize_metric_value(f"{self.table}.{column}", float(value), unit)
        except (TypeError, ValueError):
            self.values[column] = None
            self.refused.append(column)
            return self
        self.values[column] = round(canonical) if isinstance(self._columns[column].type, Integer) else canonical
        return self

    def set(self, **values: Any) -> RowBuilder:
        self.values.update(values)
        return self

    def record(self) -> Record:
        return Record(self.table, self.values, self.day, tuple(self.refused))


def measurement(metric: str, value: Any, unit: str, measured_at: Any, day: date) -> Record | None:
    """A `measurements` row for `metric`, in its canonical unit; None when there is no value."""
    if value is None:
        return None
    canonical_unit = get_metric(metric).canonical_unit
    try:
        canonical = normalize_metric_value(metric, float(value), unit)
    except (TypeError, ValueError):
        return Record("measurements", {}, day, (metric,))
    values = {"metric": metric, "value": canonical, "unit": canonical_unit, "measured_at": measured_at}
    return Record("measurements", values, day)
