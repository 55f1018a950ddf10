"""PostgreSQL enum types of the schema. Values are the stored spellings; adding one is a migration."""

from __future__ import annotations

import enum

from sqlalchemy import Enum


class SubscriptionTier(enum.StrEnum):
    FREE = "free"
    PRO = "pro"
    FAMILY = "family"


class SubscriptionStatus(enum.StrEnum):
    ACTIVE = "active"
    TRIALING = "trialing"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    EXPIRED = "expired"


class DataSource(enum.StrEnum):
    OURA = "oura"
    WHOOP = "whoop"
    GARMIN = "garmin"
    APPLE_HEALTH = "apple_health"
    FITBIT = "fitbit"
    WITHINGS = "withings"
    POLAR = "polar"
    STRONG = "strong"
    LAB_REPORT = "lab_report"
    MANUAL = "manual"
    OTHER = "other"


class ActivityType(enum.StrEnum):
    RUNNING = "running"
    WALKING = "walking"
    HIKING = "hiking"
    CYCLING = "cycling"
    SWIMMING = "swimming"
    ROWING = "rowing"
    ELLIPTICAL = "elliptical"
    STAIR_CLIMBING = "stair_climbing"
    STRENGTH_TRAINING = "strength_training"
    HIIT = "hiit"
    YOGA = "yoga"
    PILATES = "pilates"
    SKIING = "skiing"
    TEAM_SPORT = "team_sport"
    RACKET_SPORT = "racket_sport"
    MARTIAL_ARTS = "martial_arts"
    DANCE = "dance"
    MEDITATION = "meditation"
    OTHER = "other"


class BiomarkerCategory(enum.StrEnum):
    METABOLIC = "metabolic"
    LIPIDS = "lipids"
    LIPIDS_ADVANCED = "lipids_advanced"
    FATTY_ACIDS = "fatty_acids"
    THYROID = "thyroid"
    HORMONES = "hormones"
    HEMATOLOGY = "hematology"
    INFLAMMATION = "inflammation"
    VITAMINS_MINERALS = "vitamins_minerals"
    HEAVY_METALS = "heavy_metals"
    IMMUNOLOGY = "immunology"
    URINALYSIS = "urinalysis"
    OTHER = "other"


class DexaRegion(enum.StrEnum):
    TOTAL = "total"
    ARMS = "arms"
    ARM_LEFT = "arm_left"
    ARM_RIGHT = "arm_right"
    LEGS = "legs"
    LEG_LEFT = "leg_left"
    LEG_RIGHT = "leg_right"
    TRUNK = "trunk"
    ANDROID = "android"
    GYNOID = "gynoid"
    HEAD = "head"


class BoneDensityRegion(enum.StrEnum):
    TOTAL = "total"
    HEAD = "head"
    ARMS = "arms"
    LEGS = "legs"
    TRUNK = "trunk"
    RIBS = "ribs"
    PELVIS = "pelvis"
    SPINE = "spine"
    LUMBAR_SPINE = "lumbar_spine"
    FEMORAL_NECK = "femoral_neck"
    TOTAL_HIP = "total_hip"
    FEMUR_LEFT = "femur_left"
    FEMUR_RIGHT = "femur_right"


class OrganSystem(enum.StrEnum):
    BRAIN = "brain"
    HEART = "heart"
    LUNG = "lung"
    LIVER = "liver"
    KIDNEY = "kidney"
    METABOLIC = "metabolic"
    IMMUNE = "immune"
    INFLAMMATION = "inflammation"
    HORMONE = "hormone"
    MUSCULOSKELETAL = "musculoskeletal"
    BLOOD = "blood"


class MeasurementMetric(enum.StrEnum):
    WEIGHT = "weight"
    BODY_FAT_PCT = "body_fat_pct"
    BMI = "bmi"
    HEIGHT = "height"
    WAIST_CIRCUMFERENCE = "waist_circumference"
    BLOOD_PRESSURE_SYSTOLIC = "blood_pressure_systolic"
    BLOOD_PRESSURE_DIASTOLIC = "blood_pressure_diastolic"
    RESTING_HEART_RATE = "resting_heart_rate"
    HRV_SDNN = "hrv_sdnn"
    BODY_TEMPERATURE = "body_temperature"
    BLOOD_GLUCOSE = "blood_glucose"
    SPO2 = "spo2"
    VO2_MAX = "vo2_max"
    LEAN_BODY_MASS = "lean_body_mass"


class MenstrualPhase(enum.StrEnum):
    MENSTRUAL = "menstrual"
    FOLLICULAR = "follicular"
    OVULATION = "ovulation"
    LUTEAL = "luteal"
    UNKNOWN = "unknown"


class DocumentType(enum.StrEnum):
    BLOOD_WORK = "blood_work"
    DEXA = "dexa"
    EPIGENETICS = "epigenetics"
    APPLE_HEALTH_EXPORT = "apple_health_export"
    APPLE_HEALTH_PUSH = "apple_health_push"  # a Health Auto Export JSON body posted to the push endpoint
    OTHER = "other"


class ParseStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    PARSED = "parsed"
    NEEDS_REVIEW = "needs_review"
    CONFIRMED = "confirmed"
    FAILED = "failed"


class GoalDirection(enum.StrEnum):
    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"
    TARGET = "target"


class InsightType(enum.StrEnum):
    CORRELATION = "correlation"
    TREND = "trend"
    ANOMALY = "anomaly"
    GOAL_PROGRESS = "goal_progress"
    RECOMMENDATION = "recommendation"
    SUMMARY = "summary"


class JobType(enum.StrEnum):
    DAILY_SYNC = "daily_sync"
    BACKFILL = "backfill"
    WEBHOOK = "webhook"
    DOCUMENT_PARSE = "document_parse"
    APPLE_HEALTH_IMPORT = "apple_health_import"
    NIGHTLY = "nightly"
    INSIGHTS = "insights"
    GOAL_CHECK = "goal_check"
    DATA_EXPORT = "data_export"
    DELETION = "deletion"
    SMOKE = "smoke"


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class AuditAction(enum.StrEnum):
    INSERT = "INSERT"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    LOGIN = "LOGIN"
    LOGOUT = "LOGOUT"
    EXPORT = "EXPORT"


def pg_enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e], validate_strings=True)


DATA_SOURCE = pg_enum(DataSource, "data_source")
