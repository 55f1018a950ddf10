"""All tables of seed 003 §2 as SQLAlchemy 2.0 typed models; importing this registers them on Base."""

from db.models.base import Base
from db.models.body import DexaBoneDensity, DexaRegionRow, DexaScan, EpigeneticOrganAge, EpigeneticTest
from db.models.devices import ConnectedDevice
from db.models.fitness import ExerciseDictionary, LiftingSession, LiftingSet
from db.models.goals import Goal, GoalAlert, Insight, InsightRun
from db.models.identity import Account, OAuthIdentity, PushToken, User, UserPreferences
from db.models.labs import BiomarkerDictionary, BloodMarker, BloodPanel
from db.models.pacing import ProviderPacing
from db.models.system import AuditLog, DataExportRequest, DeletionRequest, IngestionJob
from db.models.tracking import (
    CustomMetric,
    CustomMetricEntry,
    DoctorVisit,
    DoctorVisitPanel,
    Document,
    Measurement,
    MenstrualCycle,
    MoodJournal,
    NutritionLog,
    Photo,
    Supplement,
    SupplementLog,
)
from db.models.wearables import PARTITIONED_BY_YEAR, WearableActivity, WearableDaily, WearableSleep

# Shared reference tables: readable by everyone, no row-level security (seed §3).
SHARED_TABLES = frozenset({"biomarker_dictionary", "exercise_dictionary"})

__all__ = [
    "PARTITIONED_BY_YEAR",
    "SHARED_TABLES",
    "Account",
    "AuditLog",
    "Base",
    "BiomarkerDictionary",
    "BloodMarker",
    "BloodPanel",
    "ConnectedDevice",
    "CustomMetric",
    "CustomMetricEntry",
    "DataExportRequest",
    "DeletionRequest",
    "DexaBoneDensity",
    "DexaRegionRow",
    "DexaScan",
    "DoctorVisit",
    "DoctorVisitPanel",
    "Document",
    "EpigeneticOrganAge",
    "EpigeneticTest",
    "ExerciseDictionary",
    "Goal",
    "GoalAlert",
    "IngestionJob",
    "Insight",
    "InsightRun",
    "LiftingSession",
    "LiftingSet",
    "Measurement",
    "MenstrualCycle",
    "MoodJournal",
    "NutritionLog",
    "OAuthIdentity",
    "Photo",
    "ProviderPacing",
    "PushToken",
    "Supplement",
    "SupplementLog",
    "User",
    "UserPreferences",
    "WearableActivity",
    "WearableDaily",
    "WearableSleep",
]
