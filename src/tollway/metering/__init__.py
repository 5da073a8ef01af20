"""Metering: idempotent usage ingestion, hourly rollups and usage queries."""

from tollway.metering.aggregation import GRANULARITIES, Granularity, MetricDef
from tollway.metering.errors import MalformedBody
from tollway.metering.intake import loads
from tollway.metering.rating import RatedCharge, rate_usage, rate_usages
from tollway.metering.schemas import (
    MAX_BATCH,
    BatchOut,
    EventAcceptedOut,
    MeteringSettings,
    RejectionOut,
    StatisticsOut,
    UsageEventIn,
    UsageOut,
)
from tollway.metering.service.ingest import (
    SETTINGS_SECTION,
    IngestResult,
    Rejected,
    ingest,
    ingest_one,
    metric_def,
)
from tollway.metering.service.query import (
    GroupUsage,
    MetricStatistics,
    Usage,
    current_usage,
    list_rejections,
    usage,
    usage_statistics,
)

__all__ = [
    "GRANULARITIES",
    "MAX_BATCH",
    "SETTINGS_SECTION",
    "BatchOut",
    "EventAcceptedOut",
    "Granularity",
    "GroupUsage",
    "IngestResult",
    "MalformedBody",
    "MeteringSettings",
    "MetricDef",
    "MetricStatistics",
    "RatedCharge",
    "Rejected",
    "RejectionOut",
    "StatisticsOut",
    "Usage",
    "UsageEventIn",
    "UsageOut",
    "current_usage",
    "ingest",
    "ingest_one",
    "list_rejections",
    "loads",
    "metric_def",
    "rate_usage",
    "rate_usages",
    "usage",
    "usage_statistics",
]
