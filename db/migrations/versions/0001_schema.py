"""The seed-003 schema: every table of §2, its enums, constraints and indexes.

Partitioned tables are created empty; their partitions come from the functions in 0002.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 00:43:11.104616
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("stripe_customer_id", sa.Text(), nullable=True),
        sa.Column(
            "subscription_tier",
            sa.Enum("free", "pro", "family", name="subscription_tier"),
            server_default="free",
            nullable=False,
        ),
        sa.Column(
            "subscription_status",
            sa.Enum("active", "trialing", "past_due", "canceled", "expired", name="subscription_status"),
            server_default="active",
            nullable=False,
        ),
        sa.Column("subscription_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_users", sa.SmallInteger(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("max_users BETWEEN 1 AND 4", name=op.f("ck_accounts_max_users_range")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("stripe_customer_id", name=op.f("uq_accounts_stripe_customer_id")),
    )
    op.create_table(
        "audit_log",
        sa.Column("audit_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("action_by", sa.UUID(), nullable=True),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("record_id", sa.UUID(), nullable=True),
        sa.Column(
            "action",
            sa.Enum("INSERT", "UPDATE", "DELETE", "LOGIN", "LOGOUT", "EXPORT", name="audit_action"),
            nullable=False,
        ),
        sa.Column("old_values", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new_values", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("ip_address", postgresql.INET(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("request_id", sa.UUID(), nullable=True),
        sa.PrimaryKeyConstraint("audit_id", "created_at", name=op.f("pk_audit_log")),
        postgresql_partition_by="RANGE (created_at)",
    )
    op.create_index(
        "ix_audit_log_action_by_created",
        "audit_log",
        ["action_by", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(op.f("ix_audit_log_table_name_record_id"), "audit_log", ["table_name", "record_id"], unique=False)
    op.create_index(
        "ix_audit_log_user_created",
        "audit_log",
        ["user_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_table(
        "biomarker_dictionary",
        sa.Column("biomarker_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("canonical_name", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "metabolic",
                "lipids",
                "lipids_advanced",
                "fatty_acids",
                "thyroid",
                "hormones",
                "hematology",
                "inflammation",
                "vitamins_minerals",
                "heavy_metals",
                "immunology",
                "urinalysis",
                "other",
                name="biomarker_category",
            ),
            nullable=False,
        ),
        sa.Column("subcategory", sa.Text(), nullable=True),
        sa.Column("canonical_unit", sa.Text(), nullable=True),
        sa.Column("common_units", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("loinc_code", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("aliases", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("sex_specific_ranges", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("optimal_low_male", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("optimal_high_male", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("optimal_low_female", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("optimal_high_female", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("normal_low", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("normal_high", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("is_qualitative", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("qualitative_values", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("molar_mass_g_mol", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("sort_order", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "is_qualitative OR canonical_unit IS NOT NULL",
            name=op.f("ck_biomarker_dictionary_quantitative_has_unit"),
        ),
        sa.CheckConstraint(
            "normal_low IS NULL OR normal_high IS NULL OR normal_low <= normal_high",
            name=op.f("ck_biomarker_dictionary_normal_range_ordered"),
        ),
        sa.PrimaryKeyConstraint("biomarker_id", name=op.f("pk_biomarker_dictionary")),
        sa.UniqueConstraint("canonical_name", name=op.f("uq_biomarker_dictionary_canonical_name")),
    )
    op.create_index(
        "ix_biomarker_dictionary_aliases",
        "biomarker_dictionary",
        ["aliases"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(op.f("ix_biomarker_dictionary_category"), "biomarker_dictionary", ["category"], unique=False)
    op.create_table(
        "exercise_dictionary",
        sa.Column("exercise_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("canonical_name", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("aliases", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("primary_muscle", sa.Text(), nullable=True),
        sa.Column("secondary_muscles", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("equipment", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("exercise_id", name=op.f("pk_exercise_dictionary")),
        sa.UniqueConstraint("canonical_name", name=op.f("uq_exercise_dictionary_canonical_name")),
    )
    op.create_table(
        "users",
        sa.Column("user_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("biological_sex", sa.Text(), nullable=True),
        sa.Column("role", sa.Text(), server_default="user", nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "biological_sex IN ('male', 'female', 'other')", name=op.f("ck_users_biological_sex_values")
        ),
        sa.CheckConstraint("role IN ('user', 'admin')", name=op.f("ck_users_role_values")),
        sa.CheckConstraint("email = lower(btrim(email))", name=op.f("ck_users_email_normalized")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_users_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_index(op.f("ix_users_account_id"), "users", ["account_id"], unique=False)
    op.create_table(
        "connected_devices",
        sa.Column("device_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "oura",
                "whoop",
                "garmin",
                "apple_health",
                "fitbit",
                "withings",
                "polar",
                "strong",
                "lab_report",
                "manual",
                "other",
                name="data_source",
            ),
            nullable=False,
        ),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("access_token_enc", sa.Text(), nullable=True),
        sa.Column("refresh_token_enc", sa.Text(), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scope", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("external_user_id", sa.Text(), nullable=True),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_status", sa.Text(), nullable=True),
        sa.Column("last_sync_error", sa.Text(), nullable=True),
        sa.Column(
            "sync_cursor",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "last_sync_status IN ('success', 'error', 'partial')",
            name=op.f("ck_connected_devices_last_sync_status_values"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_connected_devices_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_connected_devices")),
        sa.UniqueConstraint("user_id", "source", name=op.f("uq_connected_devices_user_id_source")),
    )
    op.create_index(
        op.f("ix_connected_devices_source_last_sync_at"),
        "connected_devices",
        ["source", "last_sync_at"],
        unique=False,
    )
    op.create_table(
        "custom_metrics",
        sa.Column("metric_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("data_type", sa.Text(), nullable=True),
        sa.Column("min_value", sa.Numeric(), nullable=True),
        sa.Column("max_value", sa.Numeric(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "data_type IN ('numeric', 'boolean', 'text', 'scale_1_5')",
            name=op.f("ck_custom_metrics_data_type_values"),
        ),
        sa.CheckConstraint(
            "min_value IS NULL OR max_value IS NULL OR min_value <= max_value",
            name=op.f("ck_custom_metrics_bounds_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_custom_metrics_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("metric_id", name=op.f("pk_custom_metrics")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_custom_metrics_user_id_name")),
    )
    op.create_table(
        "data_export_requests",
        sa.Column("export_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("format", sa.Text(), server_default="json", nullable=False),
        sa.Column("s3_key", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("file_size_bytes", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("format IN ('json', 'csv')", name=op.f("ck_data_export_requests_format_values")),
        sa.CheckConstraint(
            "status IN ('queued', 'processing', 'ready', 'downloaded', 'expired')",
            name=op.f("ck_data_export_requests_status_values"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_data_export_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("export_id", name=op.f("pk_data_export_requests")),
    )
    op.create_index(op.f("ix_data_export_requests_user_id"), "data_export_requests", ["user_id"], unique=False)
    op.create_table(
        "deletion_requests",
        sa.Column("request_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "grace_period_ends_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now() + interval '30 days'"),
            nullable=False,
        ),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tables_deleted", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'completed', 'canceled')",
            name=op.f("ck_deletion_requests_status_values"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_deletion_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_deletion_requests")),
    )
    op.create_index(op.f("ix_deletion_requests_user_id"), "deletion_requests", ["user_id"], unique=False)
    op.create_table(
        "doctor_visits",
        sa.Column("visit_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("provider_name", sa.Text(), nullable=True),
        sa.Column("specialty", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("follow_up_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_doctor_visits_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("visit_id", name=op.f("pk_doctor_visits")),
    )
    op.create_index(
        "ix_doctor_visits_user_date",
        "doctor_visits",
        ["user_id", sa.literal_column("visit_date DESC")],
        unique=False,
    )
    op.create_table(
        "documents",
        sa.Column("document_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "document_type",
            sa.Enum("blood_work", "dexa", "epigenetics", "apple_health_export", "other", name="document_type"),
            nullable=False,
        ),
        sa.Column("provider_name", sa.Text(), nullable=True),
        sa.Column("original_filename", sa.Text(), nullable=True),
        sa.Column("s3_key", sa.Text(), nullable=False),
        sa.Column("file_size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("mime_type", sa.Text(), server_default="application/pdf", nullable=True),
        sa.Column(
            "parse_status",
            sa.Enum("pending", "processing", "parsed", "needs_review", "confirmed", "failed", name="parse_status"),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("parse_confidence", sa.Numeric(precision=3, scale=2), nullable=True),
        sa.Column("parse_result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("parsed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.UUID(), nullable=True),
        sa.Column("linked_record_id", sa.UUID(), nullable=True),
        sa.Column("linked_record_type", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "linked_record_type IN ('blood_panel', 'dexa_scan', 'epigenetic_test')",
            name=op.f("ck_documents_linked_record_type_values"),
        ),
        sa.CheckConstraint(
            "parse_confidence IS NULL OR (parse_confidence >= 0 AND parse_confidence <= 1)",
            name=op.f("ck_documents_parse_confidence_range"),
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by"],
            ["users.user_id"],
            name=op.f("fk_documents_confirmed_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_documents_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_documents")),
    )
    op.create_index(
        "ix_documents_pending",
        "documents",
        ["parse_status"],
        unique=False,
        postgresql_where=sa.text("parse_status = 'pending'"),
    )
    op.create_index(
        "ix_documents_user_created",
        "documents",
        ["user_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_table(
        "goals",
        sa.Column("goal_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("metric_type", sa.Text(), nullable=False),
        sa.Column("biomarker_id", sa.UUID(), nullable=True),
        sa.Column("metric_name", sa.Text(), nullable=True),
        sa.Column("target_value", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("target_unit", sa.Text(), nullable=True),
        sa.Column("direction", sa.Enum("minimize", "maximize", "target", name="goal_direction"), nullable=False),
        sa.Column("alert_threshold_low", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("alert_threshold_high", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("alert_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "metric_type <> 'blood_marker' OR biomarker_id IS NOT NULL",
            name=op.f("ck_goals_blood_marker_goal_has_biomarker"),
        ),
        sa.CheckConstraint(
            "metric_type IN ('blood_marker', 'measurement', 'wearable', 'custom')",
            name=op.f("ck_goals_metric_type_values"),
        ),
        sa.CheckConstraint(
            "alert_threshold_low IS NULL OR alert_threshold_high IS NULL OR alert_threshold_low <= alert_threshold_high",
            name=op.f("ck_goals_thresholds_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["biomarker_id"],
            ["biomarker_dictionary.biomarker_id"],
            name=op.f("fk_goals_biomarker_id_biomarker_dictionary"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_goals_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("goal_id", name=op.f("pk_goals")),
    )
    op.create_index("ix_goals_user_active", "goals", ["user_id"], unique=False, postgresql_where=sa.text("is_active"))
    op.create_table(
        "ingestion_jobs",
        sa.Column("job_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "oura",
                "whoop",
                "garmin",
                "apple_health",
                "fitbit",
                "withings",
                "polar",
                "strong",
                "lab_report",
                "manual",
                "other",
                name="data_source",
            ),
            nullable=True,
        ),
        sa.Column(
            "job_type",
            sa.Enum(
                "daily_sync",
                "backfill",
                "webhook",
                "document_parse",
                "apple_health_import",
                "nightly",
                "insights",
                "goal_check",
                "data_export",
                "deletion",
                "smoke",
                name="job_type",
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("queued", "running", "succeeded", "failed", "canceled", name="job_status"),
            server_default="queued",
            nullable=False,
        ),
        sa.Column("priority", sa.SmallInteger(), server_default="5", nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("max_attempts", sa.SmallInteger(), server_default="3", nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("task_id", sa.Text(), nullable=True),
        sa.CheckConstraint("attempts >= 0 AND max_attempts >= 1", name=op.f("ck_ingestion_jobs_attempts_nonnegative")),
        sa.CheckConstraint("priority BETWEEN 1 AND 10", name=op.f("ck_ingestion_jobs_priority_range")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_ingestion_jobs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_ingestion_jobs")),
    )
    op.create_index(
        "ix_ingestion_jobs_polling",
        "ingestion_jobs",
        ["status", "next_retry_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('queued', 'failed')"),
    )
    op.create_index(
        "ix_ingestion_jobs_user_type_queued",
        "ingestion_jobs",
        ["user_id", "job_type", sa.literal_column("queued_at DESC")],
        unique=False,
    )
    op.create_table(
        "insights",
        sa.Column("insight_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "insight_type",
            sa.Enum(
                "correlation",
                "trend",
                "anomaly",
                "goal_progress",
                "recommendation",
                "summary",
                name="insight_type",
            ),
            nullable=False,
        ),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("metric_a", sa.Text(), nullable=True),
        sa.Column("metric_b", sa.Text(), nullable=True),
        sa.Column("correlation_r", sa.Numeric(precision=4, scale=3), nullable=True),
        sa.Column("p_value", sa.Numeric(precision=8, scale=6), nullable=True),
        sa.Column("data_points", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("is_dismissed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("correlation_r IS NULL OR correlation_r BETWEEN -1 AND 1", name=op.f("ck_insights_r_range")),
        sa.CheckConstraint("p_value IS NULL OR p_value BETWEEN 0 AND 1", name=op.f("ck_insights_p_value_range")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_insights_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("insight_id", name=op.f("pk_insights")),
    )
    op.create_index(
        "ix_insights_user_active",
        "insights",
        ["user_id", sa.literal_column("created_at DESC")],
        unique=False,
        postgresql_where=sa.text("NOT is_dismissed"),
    )
    op.create_index(
        "ix_insights_user_type_created",
        "insights",
        ["user_id", "insight_type", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_table(
        "lifting_sessions",
        sa.Column("session_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("session_date", sa.Date(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "oura",
                "whoop",
                "garmin",
                "apple_health",
                "fitbit",
                "withings",
                "polar",
                "strong",
                "lab_report",
                "manual",
                "other",
                name="data_source",
            ),
            nullable=False,
        ),
        sa.Column("source_session_id", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_lifting_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_lifting_sessions")),
        sa.UniqueConstraint(
            "user_id",
            "source",
            "source_session_id",
            name=op.f("uq_lifting_sessions_user_id_source_source_session_id"),
        ),
    )
    op.create_index(
        "ix_lifting_sessions_user_date",
        "lifting_sessions",
        ["user_id", sa.literal_column("session_date DESC")],
        unique=False,
    )
    op.create_table(
        "measurements",
        sa.Column("measurement_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "metric",
            sa.Enum(
                "weight",
                "body_fat_pct",
                "bmi",
                "height",
                "waist_circumference",
                "blood_pressure_systolic",
                "blood_pressure_diastolic",
                "resting_heart_rate",
                "hrv_sdnn",
                "body_temperature",
                "blood_glucose",
                "spo2",
                "vo2_max",
                "lean_body_mass",
                name="measurement_metric",
            ),
            nullable=False,
        ),
        sa.Column("value", sa.Numeric(precision=10, scale=3), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "oura",
                "whoop",
                "garmin",
                "apple_health",
                "fitbit",
                "withings",
                "polar",
                "strong",
                "lab_report",
                "manual",
                "other",
                name="data_source",
            ),
            nullable=True,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("value NOT IN ('NaN', 'Infinity', '-Infinity')", name=op.f("ck_measurements_value_finite")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_measurements_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("measurement_id", name=op.f("pk_measurements")),
        sa.UniqueConstraint(
            "user_id",
            "metric",
            "measured_at",
            "source",
            name=op.f("uq_measurements_user_id_metric_measured_at_source"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(
        "ix_measurements_user_metric_time",
        "measurements",
        ["user_id", "metric", sa.literal_column("measured_at DESC")],
        unique=False,
    )
    op.create_table(
        "menstrual_cycles",
        sa.Column("cycle_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("cycle_date", sa.Date(), nullable=False),
        sa.Column(
            "phase",
            sa.Enum("menstrual", "follicular", "ovulation", "luteal", "unknown", name="menstrual_phase"),
            nullable=True,
        ),
        sa.Column("flow_intensity", sa.SmallInteger(), nullable=True),
        sa.Column("symptoms", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "flow_intensity IS NULL OR (flow_intensity >= 0 AND flow_intensity <= 4)",
            name=op.f("ck_menstrual_cycles_flow_intensity_range"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_menstrual_cycles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("cycle_id", name=op.f("pk_menstrual_cycles")),
        sa.UniqueConstraint("user_id", "cycle_date", name=op.f("uq_menstrual_cycles_user_id_cycle_date")),
    )
    op.create_index(
        "ix_menstrual_cycles_user_date",
        "menstrual_cycles",
        ["user_id", sa.literal_column("cycle_date DESC")],
        unique=False,
    )
    op.create_table(
        "mood_journal",
        sa.Column("journal_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("journal_date", sa.Date(), nullable=False),
        sa.Column("mood_score", sa.SmallInteger(), nullable=True),
        sa.Column("energy_score", sa.SmallInteger(), nullable=True),
        sa.Column("stress_score", sa.SmallInteger(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "energy_score IS NULL OR (energy_score >= 1 AND energy_score <= 5)",
            name=op.f("ck_mood_journal_energy_score_range"),
        ),
        sa.CheckConstraint(
            "mood_score IS NULL OR (mood_score >= 1 AND mood_score <= 5)",
            name=op.f("ck_mood_journal_mood_score_range"),
        ),
        sa.CheckConstraint(
            "stress_score IS NULL OR (stress_score >= 1 AND stress_score <= 5)",
            name=op.f("ck_mood_journal_stress_score_range"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_mood_journal_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("journal_id", name=op.f("pk_mood_journal")),
        sa.UniqueConstraint("user_id", "journal_date", name=op.f("uq_mood_journal_user_id_journal_date")),
    )
    op.create_table(
        "nutrition_logs",
        sa.Column("nutrition_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("log_date", sa.Date(), nullable=False),
        sa.Column("meal_type", sa.Text(), nullable=True),
        sa.Column("calories_kcal", sa.SmallInteger(), nullable=True),
        sa.Column("protein_g", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("carbs_g", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("fat_g", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("fiber_g", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "oura",
                "whoop",
                "garmin",
                "apple_health",
                "fitbit",
                "withings",
                "polar",
                "strong",
                "lab_report",
                "manual",
                "other",
                name="data_source",
            ),
            nullable=True,
        ),
        sa.Column("raw_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "meal_type IN ('breakfast', 'lunch', 'dinner', 'snack', 'fast')",
            name=op.f("ck_nutrition_logs_meal_type_values"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_nutrition_logs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("nutrition_id", name=op.f("pk_nutrition_logs")),
    )
    op.create_index(
        "ix_nutrition_logs_user_date",
        "nutrition_logs",
        ["user_id", sa.literal_column("log_date DESC")],
        unique=False,
    )
    op.create_table(
        "oauth_identities",
        sa.Column("identity_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("provider_user_id", sa.Text(), nullable=False),
        sa.Column("access_token_enc", sa.Text(), nullable=True),
        sa.Column("refresh_token_enc", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_oauth_identities_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("identity_id", name=op.f("pk_oauth_identities")),
        sa.UniqueConstraint("provider", "provider_user_id", name=op.f("uq_oauth_identities_provider_provider_user_id")),
    )
    op.create_index(op.f("ix_oauth_identities_user_id"), "oauth_identities", ["user_id"], unique=False)
    op.create_table(
        "supplements",
        sa.Column("supplement_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("brand", sa.Text(), nullable=True),
        sa.Column("dose_amount", sa.Numeric(precision=8, scale=3), nullable=True),
        sa.Column("dose_unit", sa.Text(), nullable=True),
        sa.Column("frequency", sa.Text(), nullable=True),
        sa.Column("timing", sa.Text(), nullable=True),
        sa.Column("started_at", sa.Date(), nullable=True),
        sa.Column("ended_at", sa.Date(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "ended_at IS NULL OR started_at IS NULL OR ended_at >= started_at",
            name=op.f("ck_supplements_dates_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_supplements_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("supplement_id", name=op.f("pk_supplements")),
    )
    op.create_index(
        "ix_supplements_user_current",
        "supplements",
        ["user_id"],
        unique=False,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_index(
        "ix_supplements_user_started",
        "supplements",
        ["user_id", sa.literal_column("started_at DESC")],
        unique=False,
    )
    op.create_table(
        "user_preferences",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("weight_unit", sa.Text(), server_default="lbs", nullable=False),
        sa.Column("height_unit", sa.Text(), server_default="in", nullable=False),
        sa.Column("distance_unit", sa.Text(), server_default="miles", nullable=False),
        sa.Column("temperature_unit", sa.Text(), server_default="F", nullable=False),
        sa.Column("energy_unit", sa.Text(), server_default="kcal", nullable=False),
        sa.Column("timezone", sa.Text(), server_default="UTC", nullable=False),
        sa.Column("notifications_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "notification_prefs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "dashboard_layout",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("distance_unit IN ('miles', 'km')", name=op.f("ck_user_preferences_distance_unit_values")),
        sa.CheckConstraint("energy_unit IN ('kcal', 'kJ')", name=op.f("ck_user_preferences_energy_unit_values")),
        sa.CheckConstraint("height_unit IN ('in', 'cm')", name=op.f("ck_user_preferences_height_unit_values")),
        sa.CheckConstraint("temperature_unit IN ('F', 'C')", name=op.f("ck_user_preferences_temperature_unit_values")),
        sa.CheckConstraint("weight_unit IN ('lbs', 'kg')", name=op.f("ck_user_preferences_weight_unit_values")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_user_preferences_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_preferences")),
    )
    op.create_table(
        "wearable_activities",
        sa.Column("activity_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("activity_date", sa.Date(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "oura",
                "whoop",
                "garmin",
                "apple_health",
                "fitbit",
                "withings",
                "polar",
                "strong",
                "lab_report",
                "manual",
                "other",
                name="data_source",
            ),
            nullable=False,
        ),
        sa.Column("source_activity_id", sa.Text(), nullable=True),
        sa.Column(
            "activity_type",
            sa.Enum(
                "running",
                "walking",
                "hiking",
                "cycling",
                "swimming",
                "rowing",
                "elliptical",
                "stair_climbing",
                "strength_training",
                "hiit",
                "yoga",
                "pilates",
                "skiing",
                "team_sport",
                "racket_sport",
                "martial_arts",
                "dance",
                "meditation",
                "other",
                name="activity_type",
            ),
            nullable=False,
        ),
        sa.Column("activity_name", sa.Text(), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("distance_m", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("calories_kcal", sa.SmallInteger(), nullable=True),
        sa.Column("avg_hr_bpm", sa.SmallInteger(), nullable=True),
        sa.Column("max_hr_bpm", sa.SmallInteger(), nullable=True),
        sa.Column("hr_zone_1_seconds", sa.Integer(), nullable=True),
        sa.Column("hr_zone_2_seconds", sa.Integer(), nullable=True),
        sa.Column("hr_zone_3_seconds", sa.Integer(), nullable=True),
        sa.Column("hr_zone_4_seconds", sa.Integer(), nullable=True),
        sa.Column("hr_zone_5_seconds", sa.Integer(), nullable=True),
        sa.Column("avg_pace_sec_per_km", sa.Numeric(precision=7, scale=2), nullable=True),
        sa.Column("avg_speed_kmh", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("elevation_gain_m", sa.Numeric(precision=7, scale=2), nullable=True),
        sa.Column("avg_power_watts", sa.SmallInteger(), nullable=True),
        sa.Column("normalized_power_watts", sa.SmallInteger(), nullable=True),
        sa.Column("training_stress_score", sa.Numeric(precision=6, scale=1), nullable=True),
        sa.Column("training_effect_aerobic", sa.Numeric(precision=3, scale=1), nullable=True),
        sa.Column("training_effect_anaerobic", sa.Numeric(precision=3, scale=1), nullable=True),
        sa.Column("vo2_max_ml_kg_min", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("raw_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "avg_hr_bpm IS NULL OR (avg_hr_bpm >= 20 AND avg_hr_bpm <= 300)",
            name=op.f("ck_wearable_activities_avg_hr_bpm_range"),
        ),
        sa.CheckConstraint(
            "max_hr_bpm IS NULL OR (max_hr_bpm >= 20 AND max_hr_bpm <= 300)",
            name=op.f("ck_wearable_activities_max_hr_bpm_range"),
        ),
        sa.CheckConstraint(
            "training_effect_aerobic IS NULL OR (training_effect_aerobic >= 0 AND training_effect_aerobic <= 5)",
            name=op.f("ck_wearable_activities_training_effect_aerobic_range"),
        ),
        sa.CheckConstraint(
            "training_effect_anaerobic IS NULL OR (training_effect_anaerobic >= 0 AND training_effect_anaerobic <= 5)",
            name=op.f("ck_wearable_activities_training_effect_anaerobic_range"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_wearable_activities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("activity_id", "activity_date", name=op.f("pk_wearable_activities")),
        sa.UniqueConstraint(
            "user_id",
            "source",
            "source_activity_id",
            "activity_date",
            name=op.f("uq_wearable_activities_user_id_source_source_activity_id_activity_date"),
        ),
        postgresql_partition_by="RANGE (activity_date)",
    )
    op.create_index(
        "ix_wearable_activities_source_key",
        "wearable_activities",
        ["user_id", "source", "source_activity_id"],
        unique=False,
    )
    op.create_index(
        "ix_wearable_activities_user_date",
        "wearable_activities",
        ["user_id", sa.literal_column("activity_date DESC")],
        unique=False,
    )
    op.create_index(
        "ix_wearable_activities_user_type_date",
        "wearable_activities",
        ["user_id", "activity_type", sa.literal_column("activity_date DESC")],
        unique=False,
    )
    op.create_table(
        "wearable_daily",
        sa.Column("daily_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "oura",
                "whoop",
                "garmin",
                "apple_health",
                "fitbit",
                "withings",
                "polar",
                "strong",
                "lab_report",
                "manual",
                "other",
                name="data_source",
            ),
            nullable=False,
        ),
        sa.Column("resting_hr_bpm", sa.SmallInteger(), nullable=True),
        sa.Column("max_hr_bpm", sa.SmallInteger(), nullable=True),
        sa.Column("hrv_rmssd_ms", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("steps", sa.Integer(), nullable=True),
        sa.Column("active_calories_kcal", sa.SmallInteger(), nullable=True),
        sa.Column("total_calories_kcal", sa.SmallInteger(), nullable=True),
        sa.Column("active_minutes", sa.SmallInteger(), nullable=True),
        sa.Column("moderate_intensity_minutes", sa.SmallInteger(), nullable=True),
        sa.Column("vigorous_intensity_minutes", sa.SmallInteger(), nullable=True),
        sa.Column("distance_m", sa.Integer(), nullable=True),
        sa.Column("floors_climbed", sa.SmallInteger(), nullable=True),
        sa.Column("spo2_avg_pct", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("spo2_min_pct", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("respiratory_rate_avg", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("stress_avg", sa.SmallInteger(), nullable=True),
        sa.Column("body_battery_start", sa.SmallInteger(), nullable=True),
        sa.Column("body_battery_end", sa.SmallInteger(), nullable=True),
        sa.Column("readiness_score", sa.SmallInteger(), nullable=True),
        sa.Column("recovery_score", sa.SmallInteger(), nullable=True),
        sa.Column("skin_temp_deviation_c", sa.Numeric(precision=4, scale=2), nullable=True),
        sa.Column("vo2_max_ml_kg_min", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("raw_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "body_battery_end IS NULL OR (body_battery_end >= 0 AND body_battery_end <= 100)",
            name=op.f("ck_wearable_daily_body_battery_end_range"),
        ),
        sa.CheckConstraint(
            "body_battery_start IS NULL OR (body_battery_start >= 0 AND body_battery_start <= 100)",
            name=op.f("ck_wearable_daily_body_battery_start_range"),
        ),
        sa.CheckConstraint(
            "hrv_rmssd_ms IS NULL OR (hrv_rmssd_ms >= 1 AND hrv_rmssd_ms <= 300)",
            name=op.f("ck_wearable_daily_hrv_rmssd_ms_range"),
        ),
        sa.CheckConstraint(
            "max_hr_bpm IS NULL OR (max_hr_bpm >= 20 AND max_hr_bpm <= 300)",
            name=op.f("ck_wearable_daily_max_hr_bpm_range"),
        ),
        sa.CheckConstraint(
            "readiness_score IS NULL OR (readiness_score >= 0 AND readiness_score <= 100)",
            name=op.f("ck_wearable_daily_readiness_score_range"),
        ),
        sa.CheckConstraint(
            "recovery_score IS NULL OR (recovery_score >= 0 AND recovery_score <= 100)",
            name=op.f("ck_wearable_daily_recovery_score_range"),
        ),
        sa.CheckConstraint(
            "resting_hr_bpm IS NULL OR (resting_hr_bpm >= 20 AND resting_hr_bpm <= 300)",
            name=op.f("ck_wearable_daily_resting_hr_bpm_range"),
        ),
        sa.CheckConstraint(
            "spo2_avg_pct IS NULL OR (spo2_avg_pct >= 70 AND spo2_avg_pct <= 100)",
            name=op.f("ck_wearable_daily_spo2_avg_pct_range"),
        ),
        sa.CheckConstraint(
            "spo2_min_pct IS NULL OR (spo2_min_pct >= 50 AND spo2_min_pct <= 100)",
            name=op.f("ck_wearable_daily_spo2_min_pct_range"),
        ),
        sa.CheckConstraint(
            "steps IS NULL OR (steps >= 0 AND steps <= 100000)", name=op.f("ck_wearable_daily_steps_range")
        ),
        sa.CheckConstraint(
            "stress_avg IS NULL OR (stress_avg >= 0 AND stress_avg <= 100)",
            name=op.f("ck_wearable_daily_stress_avg_range"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_wearable_daily_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("daily_id", "date", name=op.f("pk_wearable_daily")),
        sa.UniqueConstraint("user_id", "date", "source", name=op.f("uq_wearable_daily_user_id_date_source")),
        postgresql_partition_by="RANGE (date)",
    )
    op.create_index(
        "ix_wearable_daily_user_date",
        "wearable_daily",
        ["user_id", sa.literal_column("date DESC")],
        unique=False,
    )
    op.create_index(
        "ix_wearable_daily_user_source_date",
        "wearable_daily",
        ["user_id", "source", sa.literal_column("date DESC")],
        unique=False,
    )
    op.create_table(
        "wearable_sleep",
        sa.Column("sleep_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("sleep_date", sa.Date(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "oura",
                "whoop",
                "garmin",
                "apple_health",
                "fitbit",
                "withings",
                "polar",
                "strong",
                "lab_report",
                "manual",
                "other",
                name="data_source",
            ),
            nullable=False,
        ),
        sa.Column("sleep_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sleep_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("total_sleep_minutes", sa.SmallInteger(), nullable=True),
        sa.Column("rem_minutes", sa.SmallInteger(), nullable=True),
        sa.Column("deep_minutes", sa.SmallInteger(), nullable=True),
        sa.Column("light_minutes", sa.SmallInteger(), nullable=True),
        sa.Column("awake_minutes", sa.SmallInteger(), nullable=True),
        sa.Column("sleep_latency_minutes", sa.SmallInteger(), nullable=True),
        sa.Column("sleep_efficiency_pct", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("sleep_score", sa.SmallInteger(), nullable=True),
        sa.Column("interruptions", sa.SmallInteger(), nullable=True),
        sa.Column("avg_hr_bpm", sa.SmallInteger(), nullable=True),
        sa.Column("min_hr_bpm", sa.SmallInteger(), nullable=True),
        sa.Column("avg_hrv_ms", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("avg_respiratory_rate", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("avg_spo2_pct", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("avg_skin_temp_deviation_c", sa.Numeric(precision=4, scale=2), nullable=True),
        sa.Column("hypnogram", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("raw_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "avg_hrv_ms IS NULL OR (avg_hrv_ms >= 1 AND avg_hrv_ms <= 300)",
            name=op.f("ck_wearable_sleep_avg_hrv_ms_range"),
        ),
        sa.CheckConstraint(
            "avg_spo2_pct IS NULL OR (avg_spo2_pct >= 70 AND avg_spo2_pct <= 100)",
            name=op.f("ck_wearable_sleep_avg_spo2_pct_range"),
        ),
        sa.CheckConstraint(
            "sleep_efficiency_pct IS NULL OR (sleep_efficiency_pct >= 0 AND sleep_efficiency_pct <= 100)",
            name=op.f("ck_wearable_sleep_sleep_efficiency_pct_range"),
        ),
        sa.CheckConstraint(
            "sleep_score IS NULL OR (sleep_score >= 0 AND sleep_score <= 100)",
            name=op.f("ck_wearable_sleep_sleep_score_range"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_wearable_sleep_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("sleep_id", "sleep_date", name=op.f("pk_wearable_sleep")),
        sa.UniqueConstraint(
            "user_id", "sleep_date", "source", name=op.f("uq_wearable_sleep_user_id_sleep_date_source")
        ),
        postgresql_partition_by="RANGE (sleep_date)",
    )
    op.create_index(
        "ix_wearable_sleep_user_date",
        "wearable_sleep",
        ["user_id", sa.literal_column("sleep_date DESC")],
        unique=False,
    )
    op.create_table(
        "blood_panels",
        sa.Column("panel_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("lab_name", sa.Text(), nullable=True),
        sa.Column("lab_provider", sa.Text(), nullable=True),
        sa.Column("panel_name", sa.Text(), nullable=True),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fasting", sa.Boolean(), nullable=True),
        sa.Column("specimen_id", sa.Text(), nullable=True),
        sa.Column("document_id", sa.UUID(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.document_id"],
            name=op.f("fk_blood_panels_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_blood_panels_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("panel_id", name=op.f("pk_blood_panels")),
    )
    op.create_index(
        "ix_blood_panels_user_collected",
        "blood_panels",
        ["user_id", sa.literal_column("collected_at DESC")],
        unique=False,
    )
    op.create_table(
        "custom_metric_entries",
        sa.Column("entry_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("metric_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("value_numeric", sa.Numeric(), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["metric_id"],
            ["custom_metrics.metric_id"],
            name=op.f("fk_custom_metric_entries_metric_id_custom_metrics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_custom_metric_entries_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_custom_metric_entries")),
    )
    op.create_index(
        "ix_custom_metric_entries_user_metric_time",
        "custom_metric_entries",
        ["user_id", "metric_id", sa.literal_column("measured_at DESC")],
        unique=False,
    )
    op.create_table(
        "dexa_scans",
        sa.Column("scan_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=True),
        sa.Column("scan_date", sa.Date(), nullable=False),
        sa.Column("age_at_scan", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("height_in", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("weight_lbs", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("total_mass_lbs", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("total_fat_lbs", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("total_lean_lbs", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("total_bmc_lbs", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("total_body_fat_pct", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("visceral_fat_lbs", sa.Numeric(precision=6, scale=3), nullable=True),
        sa.Column("visceral_fat_in3", sa.Numeric(precision=7, scale=2), nullable=True),
        sa.Column("android_gynoid_ratio", sa.Numeric(precision=4, scale=2), nullable=True),
        sa.Column("document_id", sa.UUID(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "total_body_fat_pct IS NULL OR (total_body_fat_pct >= 1 AND total_body_fat_pct <= 80)",
            name=op.f("ck_dexa_scans_total_body_fat_pct_range"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.document_id"],
            name=op.f("fk_dexa_scans_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_dexa_scans_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("scan_id", name=op.f("pk_dexa_scans")),
    )
    op.create_index(
        "ix_dexa_scans_user_date",
        "dexa_scans",
        ["user_id", sa.literal_column("scan_date DESC")],
        unique=False,
    )
    op.create_table(
        "epigenetic_tests",
        sa.Column("test_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=True),
        sa.Column("kit_id", sa.Text(), nullable=True),
        sa.Column("collected_at", sa.Date(), nullable=True),
        sa.Column("reported_at", sa.Date(), nullable=True),
        sa.Column("chronological_age", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("biological_age", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("pace_score", sa.Numeric(precision=4, scale=2), nullable=True),
        sa.Column("pace_percentile", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("telomere_length", sa.Numeric(precision=6, scale=3), nullable=True),
        sa.Column("methylation_clock", sa.Text(), nullable=True),
        sa.Column("document_id", sa.UUID(), nullable=True),
        sa.Column("raw_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "pace_percentile IS NULL OR pace_percentile BETWEEN 0 AND 100",
            name=op.f("ck_epigenetic_tests_pace_percentile_range"),
        ),
        sa.CheckConstraint(
            "pace_score IS NULL OR (pace_score >= 0.2 AND pace_score <= 3.0)",
            name=op.f("ck_epigenetic_tests_pace_score_range"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.document_id"],
            name=op.f("fk_epigenetic_tests_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_epigenetic_tests_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("test_id", name=op.f("pk_epigenetic_tests")),
    )
    op.create_index(
        "ix_epigenetic_tests_user_collected",
        "epigenetic_tests",
        ["user_id", sa.literal_column("collected_at DESC")],
        unique=False,
    )
    op.create_table(
        "goal_alerts",
        sa.Column("alert_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("goal_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger_value", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["goal_id"], ["goals.goal_id"], name=op.f("fk_goal_alerts_goal_id_goals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_goal_alerts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_goal_alerts")),
    )
    op.create_index(op.f("ix_goal_alerts_goal_id"), "goal_alerts", ["goal_id"], unique=False)
    op.create_index(
        "ix_goal_alerts_user_triggered",
        "goal_alerts",
        ["user_id", sa.literal_column("triggered_at DESC")],
        unique=False,
    )
    op.create_table(
        "lifting_sets",
        sa.Column("set_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("exercise_id", sa.UUID(), nullable=True),
        sa.Column("set_number", sa.SmallInteger(), nullable=True),
        sa.Column("exercise_order", sa.SmallInteger(), nullable=True),
        sa.Column("weight_lbs", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("reps", sa.SmallInteger(), nullable=True),
        sa.Column("rpe", sa.Numeric(precision=3, scale=1), nullable=True),
        sa.Column("is_warmup", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("reps IS NULL OR (reps >= 1 AND reps <= 999)", name=op.f("ck_lifting_sets_reps_range")),
        sa.CheckConstraint("rpe IS NULL OR (rpe >= 0 AND rpe <= 10)", name=op.f("ck_lifting_sets_rpe_range")),
        sa.CheckConstraint(
            "weight_lbs IS NULL OR (weight_lbs >= 0 AND weight_lbs <= 2000)",
            name=op.f("ck_lifting_sets_weight_lbs_range"),
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercise_dictionary.exercise_id"],
            name=op.f("fk_lifting_sets_exercise_id_exercise_dictionary"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["lifting_sessions.session_id"],
            name=op.f("fk_lifting_sets_session_id_lifting_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_lifting_sets_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("set_id", name=op.f("pk_lifting_sets")),
    )
    op.create_index(
        op.f("ix_lifting_sets_exercise_id_user_id"), "lifting_sets", ["exercise_id", "user_id"], unique=False
    )
    op.create_index(op.f("ix_lifting_sets_user_id_session_id"), "lifting_sets", ["user_id", "session_id"], unique=False)
    op.create_table(
        "supplement_logs",
        sa.Column("log_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("supplement_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dose_amount", sa.Numeric(precision=8, scale=3), nullable=True),
        sa.Column("dose_unit", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplement_id"],
            ["supplements.supplement_id"],
            name=op.f("fk_supplement_logs_supplement_id_supplements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_supplement_logs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("log_id", name=op.f("pk_supplement_logs")),
    )
    op.create_index(
        op.f("ix_supplement_logs_supplement_id_taken_at"),
        "supplement_logs",
        ["supplement_id", "taken_at"],
        unique=False,
    )
    op.create_index(
        "ix_supplement_logs_user_taken",
        "supplement_logs",
        ["user_id", sa.literal_column("taken_at DESC")],
        unique=False,
    )
    op.create_table(
        "blood_markers",
        sa.Column("marker_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("panel_id", sa.UUID(), nullable=False),
        sa.Column("biomarker_id", sa.UUID(), nullable=True),
        sa.Column("raw_name", sa.Text(), nullable=False),
        sa.Column("sub_panel", sa.Text(), nullable=True),
        sa.Column("value_numeric", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("value_canonical", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("ref_range_low", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("ref_range_high", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("ref_range_text", sa.Text(), nullable=True),
        sa.Column("flag", sa.Text(), nullable=True),
        sa.Column("in_range", sa.Boolean(), nullable=True),
        sa.Column("optimal_low", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("optimal_high", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("lab_code", sa.Text(), nullable=True),
        sa.Column("parse_confidence", sa.Numeric(precision=3, scale=2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("flag IN ('H', 'L', 'HH', 'LL', 'ABNORMAL')", name=op.f("ck_blood_markers_flag_values")),
        sa.CheckConstraint(
            "value_canonical IS NULL OR value_canonical NOT IN ('NaN', 'Infinity', '-Infinity')",
            name=op.f("ck_blood_markers_value_canonical_finite"),
        ),
        sa.CheckConstraint(
            "value_numeric IS NULL OR value_numeric NOT IN ('NaN', 'Infinity', '-Infinity')",
            name=op.f("ck_blood_markers_value_numeric_finite"),
        ),
        sa.CheckConstraint(
            "parse_confidence IS NULL OR (parse_confidence >= 0 AND parse_confidence <= 1)",
            name=op.f("ck_blood_markers_parse_confidence_range"),
        ),
        sa.CheckConstraint(
            "value_numeric IS NOT NULL OR value_text IS NOT NULL", name=op.f("ck_blood_markers_has_value")
        ),
        sa.ForeignKeyConstraint(
            ["biomarker_id"],
            ["biomarker_dictionary.biomarker_id"],
            name=op.f("fk_blood_markers_biomarker_id_biomarker_dictionary"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["panel_id"],
            ["blood_panels.panel_id"],
            name=op.f("fk_blood_markers_panel_id_blood_panels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_blood_markers_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("marker_id", name=op.f("pk_blood_markers")),
        sa.UniqueConstraint("panel_id", "biomarker_id", name=op.f("uq_blood_markers_panel_id_biomarker_id")),
    )
    op.create_index(op.f("ix_blood_markers_panel_id"), "blood_markers", ["panel_id"], unique=False)
    op.create_index(
        op.f("ix_blood_markers_user_id_biomarker_id_panel_id"),
        "blood_markers",
        ["user_id", "biomarker_id", "panel_id"],
        unique=False,
    )
    op.create_table(
        "dexa_bone_density",
        sa.Column("density_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("scan_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "region",
            sa.Enum(
                "total",
                "head",
                "arms",
                "legs",
                "trunk",
                "ribs",
                "pelvis",
                "spine",
                "lumbar_spine",
                "femoral_neck",
                "total_hip",
                "femur_left",
                "femur_right",
                name="bone_density_region",
            ),
            nullable=False,
        ),
        sa.Column("bmd_g_cm2", sa.Numeric(precision=6, scale=3), nullable=True),
        sa.Column("t_score", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("z_score", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.ForeignKeyConstraint(
            ["scan_id"],
            ["dexa_scans.scan_id"],
            name=op.f("fk_dexa_bone_density_scan_id_dexa_scans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_dexa_bone_density_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("density_id", name=op.f("pk_dexa_bone_density")),
        sa.UniqueConstraint("scan_id", "region", name=op.f("uq_dexa_bone_density_scan_id_region")),
    )
    op.create_index(
        op.f("ix_dexa_bone_density_user_id_scan_id"),
        "dexa_bone_density",
        ["user_id", "scan_id"],
        unique=False,
    )
    op.create_table(
        "dexa_regions",
        sa.Column("region_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("scan_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "region",
            sa.Enum(
                "total",
                "arms",
                "arm_left",
                "arm_right",
                "legs",
                "leg_left",
                "leg_right",
                "trunk",
                "android",
                "gynoid",
                "head",
                name="dexa_region",
            ),
            nullable=False,
        ),
        sa.Column("body_fat_pct", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("fat_lbs", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("lean_lbs", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("bmc_lbs", sa.Numeric(precision=5, scale=3), nullable=True),
        sa.Column("total_mass_lbs", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.CheckConstraint(
            "body_fat_pct IS NULL OR (body_fat_pct >= 1 AND body_fat_pct <= 80)",
            name=op.f("ck_dexa_regions_body_fat_pct_range"),
        ),
        sa.ForeignKeyConstraint(
            ["scan_id"],
            ["dexa_scans.scan_id"],
            name=op.f("fk_dexa_regions_scan_id_dexa_scans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_dexa_regions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("region_id", name=op.f("pk_dexa_regions")),
        sa.UniqueConstraint("scan_id", "region", name=op.f("uq_dexa_regions_scan_id_region")),
    )
    op.create_index(op.f("ix_dexa_regions_user_id_scan_id"), "dexa_regions", ["user_id", "scan_id"], unique=False)
    op.create_table(
        "doctor_visit_panels",
        sa.Column("visit_id", sa.UUID(), nullable=False),
        sa.Column("panel_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["panel_id"],
            ["blood_panels.panel_id"],
            name=op.f("fk_doctor_visit_panels_panel_id_blood_panels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_doctor_visit_panels_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["doctor_visits.visit_id"],
            name=op.f("fk_doctor_visit_panels_visit_id_doctor_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("visit_id", "panel_id", name=op.f("pk_doctor_visit_panels")),
    )
    op.create_index(op.f("ix_doctor_visit_panels_user_id"), "doctor_visit_panels", ["user_id"], unique=False)
    op.create_table(
        "epigenetic_organ_ages",
        sa.Column("organ_age_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("test_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "organ_system",
            sa.Enum(
                "brain",
                "heart",
                "lung",
                "liver",
                "kidney",
                "metabolic",
                "immune",
                "inflammation",
                "hormone",
                "musculoskeletal",
                "blood",
                name="organ_system",
            ),
            nullable=False,
        ),
        sa.Column("biological_age", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("chronological_age", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("delta_years", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("direction", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "direction IN ('younger', 'older', 'same')",
            name=op.f("ck_epigenetic_organ_ages_direction_values"),
        ),
        sa.ForeignKeyConstraint(
            ["test_id"],
            ["epigenetic_tests.test_id"],
            name=op.f("fk_epigenetic_organ_ages_test_id_epigenetic_tests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_epigenetic_organ_ages_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organ_age_id", name=op.f("pk_epigenetic_organ_ages")),
        sa.UniqueConstraint("test_id", "organ_system", name=op.f("uq_epigenetic_organ_ages_test_id_organ_system")),
    )
    op.create_index(
        op.f("ix_epigenetic_organ_ages_user_id_test_id"),
        "epigenetic_organ_ages",
        ["user_id", "test_id"],
        unique=False,
    )
    op.create_table(
        "photos",
        sa.Column("photo_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("photo_date", sa.Date(), nullable=False),
        sa.Column("photo_type", sa.Text(), nullable=True),
        sa.Column("s3_key", sa.Text(), nullable=False),
        sa.Column("s3_thumbnail_key", sa.Text(), nullable=True),
        sa.Column("file_size_bytes", sa.Integer(), nullable=True),
        sa.Column("linked_scan_id", sa.UUID(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "photo_type IN ('front', 'back', 'left', 'right', 'other')",
            name=op.f("ck_photos_photo_type_values"),
        ),
        sa.ForeignKeyConstraint(
            ["linked_scan_id"],
            ["dexa_scans.scan_id"],
            name=op.f("fk_photos_linked_scan_id_dexa_scans"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_photos_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("photo_id", name=op.f("pk_photos")),
    )
    op.create_index("ix_photos_user_date", "photos", ["user_id", sa.literal_column("photo_date DESC")], unique=False)


def downgrade() -> None:
    op.drop_index("ix_photos_user_date", table_name="photos")
    op.drop_table("photos")
    op.drop_index(op.f("ix_epigenetic_organ_ages_user_id_test_id"), table_name="epigenetic_organ_ages")
    op.drop_table("epigenetic_organ_ages")
    op.drop_index(op.f("ix_doctor_visit_panels_user_id"), table_name="doctor_visit_panels")
    op.drop_table("doctor_visit_panels")
    op.drop_index(op.f("ix_dexa_regions_user_id_scan_id"), table_name="dexa_regions")
    op.drop_table("dexa_regions")
    op.drop_index(op.f("ix_dexa_bone_density_user_id_scan_id"), table_name="dexa_bone_density")
    op.drop_table("dexa_bone_density")
    op.drop_index(op.f("ix_blood_markers_user_id_biomarker_id_panel_id"), table_name="blood_markers")
    op.drop_index(op.f("ix_blood_markers_panel_id"), table_name="blood_markers")
    op.drop_table("blood_markers")
    op.drop_index("ix_supplement_logs_user_taken", table_name="supplement_logs")
    op.drop_index(op.f("ix_supplement_logs_supplement_id_taken_at"), table_name="supplement_logs")
    op.drop_table("supplement_logs")
    op.drop_index(op.f("ix_lifting_sets_user_id_session_id"), table_name="lifting_sets")
    op.drop_index(op.f("ix_lifting_sets_exercise_id_user_id"), table_name="lifting_sets")
    op.drop_table("lifting_sets")
    op.drop_index("ix_goal_alerts_user_triggered", table_name="goal_alerts")
    op.drop_index(op.f("ix_goal_alerts_goal_id"), table_name="goal_alerts")
    op.drop_table("goal_alerts")
    op.drop_index("ix_epigenetic_tests_user_collected", table_name="epigenetic_tests")
    op.drop_table("epigenetic_tests")
    op.drop_index("ix_dexa_scans_user_date", table_name="dexa_scans")
    op.drop_table("dexa_scans")
    op.drop_index("ix_custom_metric_entries_user_metric_time", table_name="custom_metric_entries")
    op.drop_table("custom_metric_entries")
    op.drop_index("ix_blood_panels_user_collected", table_name="blood_panels")
    op.drop_table("blood_panels")
    op.drop_index("ix_wearable_sleep_user_date", table_name="wearable_sleep")
    op.drop_table("wearable_sleep")
    op.drop_index("ix_wearable_daily_user_source_date", table_name="wearable_daily")
    op.drop_index("ix_wearable_daily_user_date", table_name="wearable_daily")
    op.drop_table("wearable_daily")
    op.drop_index("ix_wearable_activities_user_type_date", table_name="wearable_activities")
    op.drop_index("ix_wearable_activities_user_date", table_name="wearable_activities")
    op.drop_index("ix_wearable_activities_source_key", table_name="wearable_activities")
    op.drop_table("wearable_activities")
    op.drop_table("user_preferences")
    op.drop_index("ix_supplements_user_started", table_name="supplements")
    op.drop_index("ix_supplements_user_current", table_name="supplements", postgresql_where=sa.text("ended_at IS NULL"))
    op.drop_table("supplements")
    op.drop_index(op.f("ix_oauth_identities_user_id"), table_name="oauth_identities")
    op.drop_table("oauth_identities")
    op.drop_index("ix_nutrition_logs_user_date", table_name="nutrition_logs")
    op.drop_table("nutrition_logs")
    op.drop_table("mood_journal")
    op.drop_index("ix_menstrual_cycles_user_date", table_name="menstrual_cycles")
    op.drop_table("menstrual_cycles")
    op.drop_index("ix_measurements_user_metric_time", table_name="measurements")
    op.drop_table("measurements")
    op.drop_index("ix_lifting_sessions_user_date", table_name="lifting_sessions")
    op.drop_table("lifting_sessions")
    op.drop_index("ix_insights_user_type_created", table_name="insights")
    op.drop_index("ix_insights_user_active", table_name="insights", postgresql_where=sa.text("NOT is_dismissed"))
    op.drop_table("insights")
    op.drop_index("ix_ingestion_jobs_user_type_queued", table_name="ingestion_jobs")
    op.drop_index(
        "ix_ingestion_jobs_polling",
        table_name="ingestion_jobs",
        postgresql_where=sa.text("status IN ('queued', 'failed')"),
    )
    op.drop_table("ingestion_jobs")
    op.drop_index("ix_goals_user_active", table_name="goals", postgresql_where=sa.text("is_active"))
    op.drop_table("goals")
    op.drop_index("ix_documents_user_created", table_name="documents")
    op.drop_index("ix_documents_pending", table_name="documents", postgresql_where=sa.text("parse_status = 'pending'"))
    op.drop_table("documents")
    op.drop_index("ix_doctor_visits_user_date", table_name="doctor_visits")
    op.drop_table("doctor_visits")
    op.drop_index(op.f("ix_deletion_requests_user_id"), table_name="deletion_requests")
    op.drop_table("deletion_requests")
    op.drop_index(op.f("ix_data_export_requests_user_id"), table_name="data_export_requests")
    op.drop_table("data_export_requests")
    op.drop_table("custom_metrics")
    op.drop_index(op.f("ix_connected_devices_source_last_sync_at"), table_name="connected_devices")
    op.drop_table("connected_devices")
    op.drop_index(op.f("ix_users_account_id"), table_name="users")
    op.drop_table("users")
    op.drop_table("exercise_dictionary")
    op.drop_index(op.f("ix_biomarker_dictionary_category"), table_name="biomarker_dictionary")
    op.drop_index("ix_biomarker_dictionary_aliases", table_name="biomarker_dictionary", postgresql_using="gin")
    op.drop_table("biomarker_dictionary")
    op.drop_index("ix_audit_log_user_created", table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_table_name_record_id"), table_name="audit_log")
    op.drop_index("ix_audit_log_action_by_created", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("accounts")
    for enum_name in ENUM_TYPES:
        op.execute(f"DROP TYPE IF EXISTS {enum_name}")


ENUM_TYPES = (
    "subscription_tier",
    "subscription_status",
    "audit_action",
    "biomarker_category",
    "data_source",
    "document_type",
    "parse_status",
    "goal_direction",
    "job_type",
    "job_status",
    "insight_type",
    "measurement_metric",
    "menstrual_phase",
    "activity_type",
    "bone_density_region",
    "dexa_region",
    "organ_system",
)
