"""/openapi.json describes the error bodies the API really returns: each operation documents 401, 404, 422
and the rest with our `{"error", "detail"}` schemas (not FastAPI's default HTTPValidationError), and real
answers validate against those schemas."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Client

from techscaniq.api.error_models import ErrorBody, ValidationErrorBody


def schema_name(operation: dict[str, Any], status: str) -> str:
    return str(operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]).rsplit("/", 1)[-1]


async def test_every_operation_documents_the_error_bodies_it_returns(client: Client) -> None:
    async with client() as api:
        document = (await api.get("/openapi.json")).json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path in ("/health", "/ready", "/metrics"):
                assert "401" not in operation["responses"], path  # probes need no credentials
                continue
            assert schema_name(operation, "401") == "ErrorBody", (method, path)
            assert schema_name(operation, "404") == "ErrorBody", (method, path)
            if "422" in operation["responses"]:
                assert schema_name(operation, "422") == "ValidationErrorBody", (method, path)
    assert "422" in document["paths"]["/api/v1/configs"]["post"]["responses"]


async def test_real_error_answers_match_the_documented_schemas(client: Client) -> None:
    async with client() as api, client(org=None) as stranger:
        ValidationErrorBody.model_validate((await api.post("/api/v1/configs", json={"name": 1})).json())
        ValidationErrorBody.model_validate((await api.get("/api/v1/scans", params={"limit": "x"})).json())
        ErrorBody.model_validate((await api.get("/api/v1/configs/no-such-config")).json())
        ErrorBody.model_validate((await stranger.get("/api/v1/configs")).json())
