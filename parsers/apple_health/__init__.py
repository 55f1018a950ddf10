"""Apple Health's export.zip to typed records: streamed, merged across sources as the Health app does.

Pure: bytes in, records out; the writer is `db.apple_health`. See `reader.AppleHealthExport`.
"""

from parsers.apple_health.reader import AppleHealthExport, Item, Progress
from parsers.apple_health.records import DailySummary, ImportReport, Measurement, Profile, SleepNight, Workout
from parsers.apple_health.source import ExportError, Limits

__all__ = [
    "AppleHealthExport",
    "DailySummary",
    "ExportError",
    "ImportReport",
    "Item",
    "Limits",
    "Measurement",
    "Profile",
    "Progress",
    "SleepNight",
    "Workout",
]
