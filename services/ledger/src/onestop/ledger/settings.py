"""Settings of the ledger service (environment, prefix ONESTOP_; DATABASE_URL and NATS_URL unprefixed)."""

from pydantic import Field

from onestop.common.settings import ServiceSettings


class Settings(ServiceSettings):
    service: str = "ledger"
    identity_url: str = Field("http://127.0.0.1:8001", description="ONESTOP_IDENTITY_URL: the identity service")
    rules_url: str = Field("http://127.0.0.1:8003", description="ONESTOP_RULES_URL: the rules service")
    dependency_timeout_s: float = Field(
        5.0, gt=0, le=60, description="ONESTOP_DEPENDENCY_TIMEOUT_S: how long an identity or rules call may take")
    quote_timeout_s: float = Field(
        2.0, gt=0, le=30, description="ONESTOP_QUOTE_TIMEOUT_S: how long one quote request to rules over NATS waits")
    quote_attempts: int = Field(3, ge=1, le=10, description="ONESTOP_QUOTE_ATTEMPTS: quote requests before a 503")
    repayment_check_hour: int | None = Field(
        6, ge=0, le=23, description="ONESTOP_REPAYMENT_CHECK_HOUR: the Asia/Shanghai hour from which the daily "
                                    "repayment check runs (reminders, overdue, visit tasks); unset: only "
                                    "POST /v1/repayment-checks runs it")
