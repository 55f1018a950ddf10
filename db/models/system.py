"""Seed 003 §2.10: job bookkeeping, the audit log, GDPR deletion and export requests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, SmallInteger, func, text
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, text_array, user_fk, uuid_pk
from db.models.enums import DATA_SOURCE, AuditAction, DataSource, JobStatus, JobType, pg_enum


class IngestionJob(Base):
    """What happened to one unit of async work, for the user who asked for it and for operators."""

    __tablename__ = "ingestion_jobs"

    job_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID | None] = user_fk(nullable=True)  # NULL for system jobs
    source: Mapped[DataSource | None] = mapped_column(DATA_SOURCE)
    job_type: Mapped[JobType] = mapped_column(pg_enum(JobType, "job_type"))
    status: Mapped[JobStatus] = mapped_column(pg_enum(JobStatus, "job_status"), server_default="queued")
    priority: Mapped[int] = mapped_column(SmallInteger, server_default="5")
    payload: Mapped[dict[str, Any] | None]
    result: Mapped[dict[str, Any] | None]
    error_message: Mapped[str | None]
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    max_attempts: Mapped[int] = mapped_column(SmallInteger, server_default="3")
    queued_at: Mapped[datetime] = mapped_column(server_default=func.now())
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    next_retry_at: Mapped[datetime | None]
    task_id: Mapped[str | None]  # the Celery task id, to find the message behind a job
    task_name: Mapped[str | None]  # the Celery task that runs it, so a lost message can be sent again
    claim_token: Mapped[uuid.UUID | None]  # which attempt holds the running job
    lease_expires_at: Mapped[datetime | None]  # a running job whose lease ran out is taken up again
    dispatched_at: Mapped[datetime | None] = mapped_column(server_default=func.now())  # NULL: the send failed

    __table_args__ = (
        Index(
            "ix_ingestion_jobs_polling",
            "status",
            "next_retry_at",
            postgresql_where=text("status IN ('queued', 'failed')"),
        ),
        Index("ix_ingestion_jobs_lease", "lease_expires_at", postgresql_where=text("status = 'running'")),
        Index("ix_ingestion_jobs_user_type_queued", "user_id", "job_type", text("queued_at DESC")),
        CheckConstraint("priority BETWEEN 1 AND 10", name="priority_range"),
        CheckConstraint("attempts >= 0 AND max_attempts >= 1", name="attempts_nonnegative"),
    )


class AuditLog(Base):
    """Immutable record of every mutation of user data, written by triggers; partitioned by quarter."""

    __tablename__ = "audit_log"

    audit_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    created_at: Mapped[datetime] = mapped_column(primary_key=True, server_default=func.now())
    user_id: Mapped[uuid.UUID | None]  # no FK: audit rows outlive the user (anonymized on deletion)
    action_by: Mapped[uuid.UUID | None]
    table_name: Mapped[str]
    record_id: Mapped[uuid.UUID | None]
    action: Mapped[AuditAction] = mapped_column(pg_enum(AuditAction, "audit_action"))
    old_values: Mapped[dict[str, Any] | None]
    new_values: Mapped[dict[str, Any] | None]
    ip_address: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None]
    request_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        Index("ix_audit_log_user_created", "user_id", text("created_at DESC")),
        Index(None, "table_name", "record_id"),
        Index("ix_audit_log_action_by_created", "action_by", text("created_at DESC")),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )


class DeletionRequest(Base):
    __tablename__ = "deletion_requests"

    request_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    requested_at: Mapped[datetime] = mapped_column(server_default=func.now())
    grace_period_ends_at: Mapped[datetime] = mapped_column(server_default=text("now() + interval '30 days'"))
    status: Mapped[str] = mapped_column(server_default="pending")
    completed_at: Mapped[datetime | None]
    tables_deleted: Mapped[list[str] | None] = text_array()

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'processing', 'completed', 'canceled')", name="status_values"),
        Index(None, "user_id"),
    )


class DataExportRequest(Base):
    __tablename__ = "data_export_requests"

    export_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    requested_at: Mapped[datetime] = mapped_column(server_default=func.now())
    status: Mapped[str] = mapped_column(server_default="queued")
    format: Mapped[str] = mapped_column(server_default="json")
    s3_key: Mapped[str | None]
    expires_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    file_size_bytes: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("status IN ('queued', 'processing', 'ready', 'downloaded', 'expired')", name="status_values"),
        CheckConstraint("format IN ('json', 'csv')", name="format_values"),
        Index(None, "user_id"),
    )
