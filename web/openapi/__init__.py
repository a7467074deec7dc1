"""The gateway's HTTP API as one OpenAPI 3.1 document: every route, parameter, auth scheme, answer and error.

This is the one place the API is described; `tests/test_openapi.py` checks it names every route Flask has,
and Schemathesis checks the live service against it. A new route goes into operations.OPERATIONS.

description  the document's words: what the gateway is, Socket.IO and webhooks (events from wa_client.names)
schemas      the components' schemas and the builders of answers
operations   every route: summary, query and header parameters, body, answers (path parameters come from the path)
this module  builds the document: operation ids, path parameters, security and the guards' answers
"""

from __future__ import annotations

import re

from web.openapi.description import API_VERSION, DESCRIPTION, TITLE
from web.openapi.operations import OPERATIONS, PATH_PARAMETERS, TAGS
from web.openapi.schemas import SCHEMAS, error_answer

__all__ = ["document"]

#: Answers every request may get from the guards, by kind of operation.
FOREIGN_HOST = error_answer("no WA_API_TOKEN is set and the request was addressed to a host name other than localhost")
UNAUTHORIZED = error_answer("a valid API token is required")
BAD_BODY = error_answer("the body is not JSON, not a JSON object, or not what the command needs")
TOO_LARGE = error_answer("the body is over 16 KiB")
WRONG_TYPE = error_answer("the body is not sent as application/json")
PATH_PARAMETER = re.compile(r"{([^{}]+)}")
PLAIN_STRING = {"type": "string"}


def _path_parameters(path: str) -> list[dict]:
    """The parameters a path names (`/messages/{message_id}`), each required, its schema from PATH_PARAMETERS."""
    return [{"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS.get(name, PLAIN_STRING)}
            for name in PATH_PARAMETER.findall(path)]


def _operation(method: str, path: str, public: bool, spec: dict, token_required: bool) -> dict:
    """One operation with its id, path parameters, security and the guards' answers added."""
    name = re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_") or "index"
    operation = {"operationId": f"{method}_{name}", **spec}
    if in_path := _path_parameters(path):
        operation["parameters"] = in_path + spec.get("parameters", [])
    responses = dict(operation["responses"])
    responses.setdefault("403", FOREIGN_HOST)
    if public:
        operation["security"] = []
    else:
        responses.setdefault("401", UNAUTHORIZED)
        if not token_required:  # the schemes are accepted, and ignored, while no token is set
            operation["security"] = [{}, {"bearerAuth": []}, {"apiKey": []}]
    if method in ("post", "put"):  # the guards read these bodies
        responses.update({"400": responses.get("400", BAD_BODY), "413": TOO_LARGE, "415": WRONG_TYPE})
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def document(token_required: bool = False) -> dict:
    """The OpenAPI 3.1 document of this gateway (security as its WA_API_TOKEN setting makes it)."""
    paths: dict[str, dict] = {}
    for method, path, public, spec in OPERATIONS:
        paths.setdefault(path, {})[method] = _operation(method, path, public, spec, token_required)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": API_VERSION, "description": DESCRIPTION},
        "security": [{"bearerAuth": []}, {"apiKey": []}],
        "tags": [{"name": name, "description": text} for name, text in TAGS],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer TOKEN"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "X-API-Key: TOKEN"},
            },
        },
    }
