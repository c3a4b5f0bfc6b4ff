"""Post-processing of the OpenAPI schema so that it says what the endpoints do."""


def forbid_unknown_fields(result, generator, request, public):
    """A request body names only the fields of its schema (the API refuses any other with a
    400 ``unknown_field``): every request component is closed with
    ``additionalProperties: false``."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result
