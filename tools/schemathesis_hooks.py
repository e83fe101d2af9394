"""Schemathesis hooks for tools/schemathesis.sh: sign every request as docs/protocol.md §5 says,
and fail when the server refuses a request the OpenAPI document allows.

Environment: ST_KEY_ID, ST_KEY_HEX (the key the server under test was started with).
"""
import hashlib, hmac, os, re, time, urllib.parse

import requests
import schemathesis

# The protocol's canonical string, from the project's Python model of it (tools/ is on PYTHONPATH).
from gen_vectors import canonical

KEY_ID = os.environ["ST_KEY_ID"]
KEY = bytes.fromhex(os.environ["ST_KEY_HEX"])


class SigningSession(requests.Session):
    """Signs the prepared request (final URL, headers and body bytes) just before it is sent."""

    def send(self, request, **kwargs):
        url = urllib.parse.urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        ts = str(int(time.time()))
        idem = request.headers.get("Idempotency-Key", "")
        text = canonical(ts, request.method, url.path, url.query, idem, body)
        request.headers["X-Key-Id"] = KEY_ID
        request.headers["X-Timestamp"] = ts
        request.headers["X-Signature"] = "v1=" + hmac.new(KEY, text.encode(), hashlib.sha256).hexdigest()
        return super().send(request, **kwargs)


SESSION = SigningSession()


@schemathesis.hook
def process_call_kwargs(context, case, kwargs):
    kwargs["session"] = SESSION


@schemathesis.check
def schema_allowed_is_accepted(response, case):
    """A schema-valid request must not be refused for its form (400, 401, 403, 413, 415).
    (The reverse, a schema-invalid request accepted, is schemathesis' negative_data_rejection.)"""
    method = getattr(case, "data_generation_method", None)
    if method is not None and method.is_negative:
        return
    if response.status_code in (400, 401, 403, 413, 415):
        raise AssertionError(f"schema-allowed request refused with {response.status_code}: {response.text[:300]}")


@schemathesis.hook
def before_call(context, case):
    """For schema-valid cases only: long-polls wait at most 1 s here, to keep the run short (the
    server caps `wait` at 30 s), and generated cursors are dropped (a cursor is valid only as the
    server issued it, a MAC no schema can describe; paging with issued cursors is covered by the
    API's own tests). Schema-invalid cases are sent exactly as generated: changing them could make
    them valid."""
    method = getattr(case, "data_generation_method", None)
    if method is not None and method.is_negative:
        return
    query = case.query
    if query and isinstance(query.get("wait"), int):
        query["wait"] = min(query["wait"], 1)
    if query:
        query.pop("cursor", None)


@schemathesis.hook
def filter_query(context, query):
    """Discard a generated query that is valid once written into the URL. A query string carries
    text only: a schema-invalid case that turns a digits-only text parameter (`actor`) into the
    integer 0 sends `actor=0`, which the document allows, so the server rightly accepts it. Such a
    case is not invalid on the wire, whatever its generator meant; any other case is kept."""
    operation = getattr(context, "operation", None)
    if not query or operation is None:
        return True
    for param in operation.query:
        name = param.name
        if name not in query:
            continue
        value = query[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        schema = param.definition.get("schema", {})
        pattern = schema.get("pattern")
        if schema.get("type") == "string" and pattern and re.search(pattern, str(value)):
            return False
    return True
