"""Least privilege for `service` callers as data (api/service_grants.py): the ledger's token may call only
POST /v1/eligibility and GET /v1/persons/{id}/name (its documents); other services nothing; client roles
are left to the use cases."""

from __future__ import annotations

import pytest

from onestop.common.auth import Principal
from onestop.contracts.enums import Role
from onestop.identity.api.service_grants import service_may_call


def _service(name: str) -> Principal:
    return Principal(subject=f"service:{name}", role=Role.service)


@pytest.mark.parametrize(("service", "method", "path", "ok"), [
    ("ledger", "POST", "/v1/eligibility", True),
    ("ledger", "GET", "/v1/eligibility", False),
    ("ledger", "POST", "/v1/eligibility/x", False),
    ("ledger", "GET", "/v1/persons/00000000-0000-0000-0000-000000000000", False),
    ("ledger", "GET", "/v1/persons/00000000-0000-0000-0000-000000000000/name", True),
    ("ledger", "POST", "/v1/persons/00000000-0000-0000-0000-000000000000/name", False),
    ("clearing", "GET", "/v1/persons/00000000-0000-0000-0000-000000000000/name", False),
    ("ledger", "POST", "/v1/imports", False),
    ("rules", "POST", "/v1/eligibility", False),
    ("clearing", "POST", "/v1/eligibility", False),
    ("identity", "POST", "/v1/eligibility", False)])
def test_a_service_may_call_only_what_it_is_granted(service: str, method: str, path: str, ok: bool) -> None:
    assert service_may_call(_service(service), method, path) is ok


def test_client_roles_pass_to_the_use_cases() -> None:
    hospital = Principal(subject="hospital:H1", role=Role.hospital, hospital_code="H1")
    assert service_may_call(hospital, "GET", "/v1/access-audit")
