"""The shapes of the intake's answers, as they appear in its OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    """Why a request was refused; for an invalid order, the offending field first."""

    detail: str = Field(examples=["request: field required"])


class SubmissionReceipt(BaseModel):
    """The stored order: its id as submitted, its database pk, state and priority."""

    id: str
    user: str
    pk: int
    state: str
    priority: float | None = Field(description="0-10, 10 the most urgent")
    published: bool = Field(description="whether the broker has taken the order's task")
    message: str = ""


class StepRunReport(BaseModel):
    step: str
    attempt: int
    state: str
    started_at: str | None
    ended_at: str | None
    error: str | None
    outputs: dict[str, Any] | None
    worker: str | None


class WorkOrderReport(BaseModel):
    """A work order, its state and the runs of its steps (times in UTC ISO 8601)."""

    id: str
    user: str
    request: str
    state: str
    reason: str | None
    priority: float | None
    queue: str | None
    attempts: int
    received_at: str | None
    published_at: str | None
    started_at: str | None
    progressed_at: str | None = Field(
        default=None, description="a running order's last sign of life (claim, unit, heartbeat)"
    )
    finished_at: str | None
    cancel: dict[str, Any] | None = Field(
        default=None, description="the cancel request: requested_at, by, reason"
    )
    payload: dict[str, Any]
    steps: list[StepRunReport]
