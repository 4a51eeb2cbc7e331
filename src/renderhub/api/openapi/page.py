"""The API document as one plain HTML page for people: every operation with its parameters,
body and responses. Written on the server with nothing from the network (no scripts, no CDN),
so it works on a machine without internet access."""

from __future__ import annotations

from html import escape
from typing import Any

from renderhub.api.openapi.document import Document

_METHODS = ("get", "put", "post", "patch", "delete")
_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem }
h2 { border-bottom: 1px solid #ccc; padding-bottom: .2rem; margin-top: 2.5rem }
code, pre { font: 13px ui-monospace, monospace }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto }
table { border-collapse: collapse; margin: .4rem 0 }
td, th { border: 1px solid #ddd; padding: .2rem .5rem; text-align: left; vertical-align: top }
.method { font-weight: bold; text-transform: uppercase }
"""


def render_page(document: Document) -> str:
    """The page for `document` (a Swagger 2.0 document)."""
    info = document.get("info", {})
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(info.get('title', 'API'))} API</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{escape(info.get('title', 'API'))} {escape(str(info.get('version', '')))}</h1>",
        f"<p>{escape(info.get('description', ''))}</p>",
        '<p>The machine-readable document: <a href="openapi.json">openapi.json</a> '
        "(Swagger 2.0).</p>",
        _contents(document),
    ]
    for path, item in document["paths"].items():
        for method in _METHODS:
            if method in item:
                parts.append(_operation(document, path, method, item[method], item))
    parts.append("</body></html>")
    return "\n".join(parts)


def _contents(document: Document) -> str:
    rows = []
    for path, item in document["paths"].items():
        for method in _METHODS:
            if method in item:
                anchor = _anchor(item[method], method, path)
                summary = escape(item[method].get("summary", ""))
                rows.append(
                    f'<li><a href="#{anchor}"><span class="method">{method}</span> '
                    f"<code>{escape(path)}</code></a> {summary}</li>"
                )
    return f"<ul>{''.join(rows)}</ul>"


def _anchor(operation: dict[str, Any], method: str, path: str) -> str:
    return escape(operation.get("operationId") or f"{method}-{path}", quote=True)


def _operation(
    document: Document, path: str, method: str, operation: dict[str, Any], item: dict[str, Any]
) -> str:
    listed = [*item.get("parameters", []), *operation.get("parameters", [])]
    parameters = [_resolve(document, parameter) for parameter in listed]
    parts = [
        f'<h2 id="{_anchor(operation, method, path)}"><span class="method">{method}</span> '
        f"<code>{escape(path)}</code></h2>",
        f"<p>{escape(operation.get('summary', ''))}</p>",
        f"<p>Operation <code>{escape(operation.get('operationId', ''))}</code>; "
        f"authentication: {_security(document, operation)}.</p>",
    ]
    plain = [p for p in parameters if p.get("in") != "body"]
    if plain:
        parts.append(_parameters(plain))
    for body in (p for p in parameters if p.get("in") == "body"):
        schema = _expand(document, body.get("schema", {}))
        parts.append("<p>Body:</p><pre>" + escape(_schema_text(schema)) + "</pre>")
    parts.append(_responses(document, operation["responses"]))
    return "\n".join(parts)


def _security(document: Document, operation: dict[str, Any]) -> str:
    source = operation if "security" in operation else document
    requirements: list[dict[str, Any]] = source.get("security") or []
    names = [name for requirement in requirements for name in requirement]
    if not names:
        return "none"
    definitions = document.get("securityDefinitions", {})
    described = [
        f"{escape(name)} (header {escape(definitions.get(name, {}).get('name', '?'))})"
        for name in names
    ]
    return ", ".join(described)


def _parameters(parameters: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p.get('in', ''))}</td>"
        f"<td>{escape(_type_of(p))}</td><td>{'yes' if p.get('required') else 'no'}</td>"
        f"<td>{escape(p.get('description', ''))}</td></tr>"
        for p in parameters
    )
    head = "<tr><th>name</th><th>in</th><th>type</th><th>required</th><th>description</th></tr>"
    return f"<table>{head}{rows}</table>"


def _responses(document: Document, responses: dict[str, Any]) -> str:
    rows = []
    for status, response in responses.items():
        response = _resolve(document, response)
        schema = response.get("schema")
        shape = ""
        if schema:
            shape = "<pre>" + escape(_schema_text(_expand(document, schema))) + "</pre>"
        headers = ", ".join(response.get("headers", {}))
        rows.append(
            f"<tr><td>{escape(status)}</td><td>{escape(response.get('description', ''))}"
            f"{'<br>headers: ' + escape(headers) if headers else ''}</td><td>{shape}</td></tr>"
        )
    head = "<tr><th>status</th><th>meaning</th><th>body</th></tr>"
    return f"<p>Responses:</p><table>{head}{''.join(rows)}</table>"


def _type_of(parameter: dict[str, Any]) -> str:
    kind = str(parameter.get("type", "object"))
    if "format" in parameter:
        kind += f" ({parameter['format']})"
    if "pattern" in parameter:
        kind += f" matching {parameter['pattern']}"
    return kind


def _resolve(document: Document, node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or what its local `$ref` ('#/parameters/x') points at."""
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return node
    target: Any = document
    for part in ref[2:].split("/"):
        target = target[part]
    resolved: dict[str, Any] = target
    return resolved


def _expand(document: Document, schema: dict[str, Any], seen: frozenset[str] = frozenset()) -> Any:
    """A schema as a readable nested value: properties with their types; a definition inside
    itself (the error object's `details`) is shown by its name."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if ref in seen:
            return name
        expanded = _expand(document, _resolve(document, schema), seen | {ref})
        return (expanded, "or null") if schema.get("x-nullable") else expanded
    if "enum" in schema:
        return " | ".join(str(value) for value in schema["enum"])
    kind = schema.get("type", "object")
    if kind == "array":
        return [_expand(document, schema.get("items", {}), seen)]
    if kind == "object" and "properties" in schema:
        required = set(schema.get("required", []))
        return {
            name + ("" if name in required else "?"): _expand(document, prop, seen)
            for name, prop in schema["properties"].items()
        }
    if "minimum" in schema or "maximum" in schema:
        kind = f"{kind} {schema.get('minimum', '')}..{schema.get('maximum', '')}"
    return str(kind) + (" or null" if schema.get("x-nullable") else "")


def _schema_text(value: Any, indent: int = 0) -> str:
    pad = "  " * indent
    if isinstance(value, tuple):  # (value, "or null")
        return f"{_schema_text(value[0], indent)} {value[1]}"
    if isinstance(value, dict):
        lines = [f"{pad}  {name}: {_schema_text(inner, indent + 1).lstrip()}" for name, inner in
                 value.items()]  # fmt: skip
        return "{\n" + "\n".join(lines) + f"\n{pad}}}"
    if isinstance(value, list):
        return "[" + _schema_text(value[0], indent).lstrip() + "]" if value else "[]"
    return str(value)
