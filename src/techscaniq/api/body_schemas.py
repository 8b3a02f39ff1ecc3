"""Request bodies in /openapi.json: the routes read a JSON object and validate it themselves (to answer
errors naming each field, and to restore masked secrets first), so FastAPI alone documents them as "any
object". This gives each its model's schema (configs, alert rules with their channels, silences) and an
example, so /docs and /redoc can teach the format."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from techscaniq.api.configs import CONFIG_EXAMPLE
from techscaniq.api.rules import RULE_EXAMPLE
from techscaniq.api.silences import SILENCE_EXAMPLE
from techscaniq.domain.config import AlertRule, MonitoringConfig
from techscaniq.domain.silence import Silence

REF = "#/components/schemas/{model}"
# Set by the server from the caller's credentials: a body may leave them out.
SERVER_SET = {"organization_id", "created_by"}
# (path, method) -> (model, example, whether every field may be left out)
BODIES: dict[tuple[str, str], tuple[type[BaseModel], dict[str, Any], bool]] = {
    ("/api/v1/configs", "post"): (MonitoringConfig, CONFIG_EXAMPLE, False),
    ("/api/v1/configs/{config_id}", "put"): (MonitoringConfig, CONFIG_EXAMPLE, False),
    ("/api/v1/configs/{config_id}", "patch"): (MonitoringConfig, {"name": "Shop (EU)", "paused": True}, True),
    ("/api/v1/configs/{config_id}/rules", "post"): (AlertRule, RULE_EXAMPLE, False),
    ("/api/v1/configs/{config_id}/rules/{rule_id}", "put"): (AlertRule, RULE_EXAMPLE, False),
    ("/api/v1/silences", "post"): (Silence, SILENCE_EXAMPLE, False),
}


def install_body_schemas(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for (path, method), (model, example, partial) in BODIES.items():
            operation = document.get("paths", {}).get(path, {}).get(method)
            if operation is None:
                continue
            schema = model.model_json_schema(ref_template=REF, mode="validation")
            schema["required"] = [name for name in schema.get("required", []) if name not in SERVER_SET]
            schemas.update(schema.pop("$defs", {}))
            schemas.setdefault(model.__name__, schema)
            body: dict[str, Any] = {"$ref": REF.format(model=model.__name__)}
            if partial:  # PATCH: any of the fields, each as the model has it
                body = {"type": "object", "description": f"Some fields of {model.__name__}",
                        "properties": schema.get("properties", {})}
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": body, "example": example}}}
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
