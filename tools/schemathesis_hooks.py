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


def _on_the_wire(query):
    """The (name, text) pairs `requests` puts in the URL for `query`: None, empty lists and empty
    dicts leave a parameter out, lists repeat it, a dict sends its keys. Asked of `requests`
    itself, which sends every case."""
    url = requests.Request("GET", "http://wire.invalid/", params=query).prepare().url
    return urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True)


def _text_allowed(text, schema):
    """Whether the document allows `text` as this parameter's value in a URL."""
    if "enum" in schema:
        return text in [str(e) for e in schema["enum"]]
    kind = schema.get("type")
    if kind == "integer":
        # The server reads plain digits only (no sign, no leading zero), as the document says.
        if not re.fullmatch(r"0|[1-9][0-9]*", text):
            return False
        n = int(text)
        return schema.get("minimum", n) <= n <= schema.get("maximum", n)
    if kind == "string":
        pattern = schema.get("pattern")
        if pattern and not re.search(pattern, text):
            return False
        return schema.get("minLength", 0) <= len(text) <= schema.get("maxLength", len(text))
    return False


def _as_generated_type(value, schema):
    """Whether `value` has the very type the parameter's schema names (what schema-valid
    generation produces); anything else only became text on the way into the URL."""
    kind = schema.get("type")
    if isinstance(value, bool) or value is None:
        return False
    if kind == "integer":
        return isinstance(value, int)
    if kind == "string":
        return isinstance(value, str)
    return False


@schemathesis.hook
def filter_query(context, query):
    """Discard a generated query that is valid once written into the URL. A query string carries
    text only, and `requests` leaves out None, empty lists and empty dicts: a schema-invalid case
    that turns a digits-only text parameter (`actor`) into the integer 0 sends `actor=0`, and one
    that adds an unknown parameter holding `{}` sends nothing for it; the document allows what is
    sent, so the server rightly accepts it. Such a case is not invalid on the wire, whatever its
    generator meant. Cases whose values all have their schema's type (every schema-valid case)
    are kept, and so is every case whose URL the document refuses."""
    operation = getattr(context, "operation", None)
    if not query or operation is None:
        return True
    params = {p.name: p for p in operation.query}
    if all(
        name in params and _as_generated_type(value, params[name].definition.get("schema", {}))
        for name, value in query.items()
    ):
        return True
    try:
        sent = _on_the_wire(query)
    except Exception:  # noqa: BLE001 - a query requests cannot encode is not sent as valid
        return True
    names = [name for name, _ in sent]
    if len(set(names)) != len(names) or any(name not in params for name in names):
        return True  # a repeated or unknown parameter: refused on the wire
    for name, param in params.items():
        if param.definition.get("required") and name not in names:
            return True
    for name, text in sent:
        if not _text_allowed(text, params[name].definition.get("schema", {})):
            return True
    return False
