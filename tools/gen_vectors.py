#!/usr/bin/env python3
"""Writes testdata/*.json: the shared test vectors of protocol v1.

This is an independent model of docs/protocol.md written with Python's standard library only
(hmac, hashlib, urllib, json). Its outputs are the expectations that both the Rust suite
(`shared/tests/vectors.rs`) and the Luau suite check, so a slip in any one implementation shows
up as a disagreement. Run: python3 tools/gen_vectors.py (deterministic; commit the result).
"""
import copy, hashlib, hmac, json, os, urllib.parse

MAX_SAFE = 2**53 - 1
RING = 64
SKEW = 60_000
T0 = 1_700_000_000_000  # a fixed "now" in Unix ms
CROCK = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
OUT = os.path.join(os.path.dirname(__file__), "..", "testdata")


def ulid(ts_ms, rnd):
    n = (ts_ms << 80) | rnd
    return "".join(CROCK[(n >> (5 * (25 - i))) & 31] for i in range(26))


def cmd(n, op="give", amount=10, issued=None, ttl=300_000, user=123, reason="event prize", reverses=None):
    issued = T0 + n if issued is None else issued
    c = {"v": 1, "txn": ulid(min(issued, 2**48 - 1), n), "op": op, "userId": user, "amount": amount,
         "reason": reason, "actor": {"id": "123456789012345678", "name": "Mod"},
         "issuedAt": issued, "expiresAt": issued + ttl}
    if reverses is not None:
        c["reverses"] = reverses  # last on the wire, absent on ordinary commands (§2.1)
    return c


def ulid_time(id_):
    n = 0
    for ch in id_[:10]:
        n = (n << 5) | CROCK.index(ch)
    return n


def reversal_id(original):
    """§2.1: the original's timestamp, then the first 80 bits of SHA-256("economy-reversal/v1:" + id)."""
    rnd = int.from_bytes(hashlib.sha256(b"economy-reversal/v1:" + original.encode()).digest()[:10], "big")
    return ulid(ulid_time(original), rnd)


def reversal(n, original, issued=None, ttl=300_000, txn=None, reason="undo a mistake"):
    """The reversal of command `original`: the opposite op, the same amount and user, naming it."""
    c = cmd(n, "deduct" if original["op"] == "give" else "give", original["amount"], issued, ttl,
            original["userId"], reason, reverses=original["txn"])
    c["txn"] = txn or reversal_id(original["txn"])
    return c


def wallet(balance=0, ring=None, watermark=0, outbox=None, **extra):
    w = {"v": 1, "balance": balance, "ring": ring or [], "watermark": watermark, "outbox": outbox or []}
    w.update(extra)
    return w


def record(c, outcome, balance_after, at, reason=None):
    r = {"id": c["txn"], "op": c["op"], "amount": c["amount"], "outcome": outcome}
    if reason:
        r["rejectReason"] = reason
    r.update({"balanceAfter": balance_after, "issuedAt": c["issuedAt"], "at": at})
    if "reverses" in c:
        r["reverses"] = c["reverses"]
    return r


def movement(balance, op, amount, limits):
    if amount < 1 or amount > limits["maxAmount"]:
        return None, "amount_out_of_range"
    if op == "give":
        nb = balance + amount
        return (nb, None) if nb <= limits["balanceCap"] else (None, "balance_overflow")
    return (balance - amount, None) if amount <= balance else (None, "insufficient_funds")


def apply(w, c, now, limits):
    """The apply rule of docs/protocol.md; mutates w, returns the step's expectation."""
    for r in w["ring"]:
        if r["id"] == c["txn"]:
            return {"outcome": "duplicate", "balanceAfter": w["balance"], "recorded": False,
                    "record": copy.deepcopy(r)}
    if c["issuedAt"] <= w["watermark"]:
        return {"outcome": "rejected", "reason": "stale", "balanceAfter": w["balance"], "recorded": False}
    if c["issuedAt"] > now + SKEW:
        return {"outcome": "rejected", "reason": "not_yet_valid", "balanceAfter": w["balance"], "recorded": False}
    if now > c["expiresAt"]:
        nb, why = None, "expired"
    elif "reverses" in c and any(r.get("reverses") == c["reverses"] and r["outcome"] == "applied"
                                 for r in w["ring"]):
        nb, why = None, "already_reversed"
    else:
        nb, why = movement(w["balance"], c["op"], c["amount"], limits)
    if why is None:
        w["balance"] = nb
        w["ring"].append(record(c, "applied", nb, now))
        out = {"outcome": "applied", "balanceAfter": nb, "recorded": True}
    else:
        w["ring"].append(record(c, "rejected", w["balance"], now, why))
        out = {"outcome": "rejected", "reason": why, "balanceAfter": w["balance"], "recorded": True}
    while len(w["ring"]) > RING:
        old = w["ring"].pop(0)
        w["watermark"] = max(w["watermark"], old["issuedAt"])
    return out


DEFAULT_LIMITS = {"maxAmount": 1_000_000_000, "balanceCap": MAX_SAFE}


def case(name, steps, w=None, limits=None):
    limits = limits or DEFAULT_LIMITS
    w0 = w or wallet()
    cur = copy.deepcopy(w0)
    out_steps = []
    for now, c in steps:
        exp = apply(cur, c, now, limits)
        out_steps.append({"now": now, "command": c, "expect": exp})
    return {"name": name, "limits": limits, "wallet": w0, "steps": out_steps, "finalWallet": cur}


def full_ring(n=RING, start=1000, balance=10_000):
    ring = []
    b = balance
    for i in range(n):
        c = cmd(start + i, amount=1)
        b += 1
        ring.append(record(c, "applied", b, c["issuedAt"] + 5))
    return ring, b


def apply_cases():
    cases = []
    small = {"maxAmount": 1000, "balanceCap": 5000}
    cases.append(case("give to an empty wallet applies", [(T0 + 10, cmd(1, amount=10))]))
    cases.append(case("deduct applies", [(T0 + 10, cmd(1, "deduct", 30))], wallet(100)))
    cases.append(case("deduct of the exact balance leaves zero", [(T0 + 10, cmd(1, "deduct", 100))], wallet(100)))
    cases.append(case("deduct beyond the balance is rejected and recorded",
                      [(T0 + 10, cmd(1, "deduct", 6))], wallet(5)))
    cases.append(case("amount 0 is out of range", [(T0 + 10, cmd(1, amount=0))], wallet(5)))
    cases.append(case("negative amount is out of range", [(T0 + 10, cmd(1, "deduct", -5))], wallet(5)))
    cases.append(case("amount equal to maxAmount applies", [(T0 + 10, cmd(1, amount=1000))], wallet(5), small))
    cases.append(case("amount maxAmount+1 is out of range", [(T0 + 10, cmd(1, amount=1001))], wallet(5), small))
    cases.append(case("give up to the cap applies", [(T0 + 10, cmd(1, amount=1000))], wallet(4000), small))
    cases.append(case("give past the cap is a balance overflow", [(T0 + 10, cmd(1, amount=1000))], wallet(4001), small))
    big = {"maxAmount": MAX_SAFE, "balanceCap": MAX_SAFE}
    cases.append(case("give to exactly 2^53-1 applies", [(T0 + 10, cmd(1, amount=1))], wallet(MAX_SAFE - 1), big))
    cases.append(case("give past 2^53-1 overflows", [(T0 + 10, cmd(1, amount=2))], wallet(MAX_SAFE - 1), big))
    cases.append(case("maximum amount into an empty wallet", [(T0 + 10, cmd(1, amount=MAX_SAFE))], wallet(0), big))
    c = cmd(1)
    cases.append(case("processed exactly at expiresAt applies", [(c["expiresAt"], c)]))
    c = cmd(1)
    cases.append(case("processed 1 ms after expiresAt is expired and recorded", [(c["expiresAt"] + 1, c)]))
    c = cmd(1, amount=0)
    cases.append(case("expiry is checked before the amount", [(c["expiresAt"] + 1, c)]))
    cases.append(case("issuedAt exactly the allowed skew ahead applies",
                      [(T0, cmd(1, issued=T0 + SKEW))]))
    cases.append(case("issuedAt beyond the allowed skew is not yet valid (not recorded)",
                      [(T0, cmd(1, issued=T0 + SKEW + 1))]))
    cases.append(case("issuedAt equal to the watermark is stale (not recorded)",
                      [(T0 + 10, cmd(1, issued=T0 - 500))], wallet(50, watermark=T0 - 500)))
    cases.append(case("issuedAt one above the watermark applies",
                      [(T0 + 10, cmd(1, issued=T0 - 499))], wallet(50, watermark=T0 - 500)))
    c = cmd(1, amount=7)
    w = wallet(57, ring=[record(c, "applied", 57, T0 + 3)])
    cases.append(case("a txn already in the ring is a duplicate returning the recorded outcome", [(T0 + 20, c)], w))
    c = cmd(1, "deduct", 70)
    w = wallet(57, ring=[record(c, "rejected", 57, T0 + 3, "insufficient_funds")])
    cases.append(case("a replay of a recorded rejection returns the rejection", [(T0 + 20, dict(c, amount=1))], w))
    c = cmd(1, amount=7)
    w = wallet(57, ring=[record(c, "applied", 57, T0 + 3)], watermark=T0 + 100)
    cases.append(case("duplicate is checked before staleness", [(T0 + 20, c)], w))
    ring, b = full_ring()
    cases.append(case("a full ring evicts its oldest entry and raises the watermark",
                      [(T0 + 10_000, cmd(5000, amount=2))], wallet(b, ring=ring, watermark=T0 - 1)))
    ring, b = full_ring()
    cases.append(case("eviction never lowers the watermark",
                      [(T0 + 10_000, cmd(5000, amount=2))], wallet(b, ring=ring, watermark=T0 + 999_999 - 1_000_000 + 2000)))
    ring, b = full_ring()
    cases.append(case("a recorded rejection also evicts",
                      [(T0 + 10_000, cmd(5000, "deduct", b + 1))], wallet(b, ring=ring)))
    seq = [(T0 + 100 + i, cmd(100 + i, amount=i + 1)) for i in range(70)]
    seq.append((T0 + 500, seq[0][1]))   # evicted original: stale, never applied again
    seq.append((T0 + 501, seq[10][1]))  # still in the ring: duplicate
    seq.append((T0 + 502, seq[69][1]))  # newest: duplicate
    cases.append(case("seventy gives, then replays of an evicted, a kept and the newest txn", seq))
    seq = [(T0 + 50, cmd(1, amount=100)), (T0 + 51, cmd(2, "deduct", 60)), (T0 + 52, cmd(3, "deduct", 60)),
           (T0 + 53, cmd(4, amount=5)), (T0 + 54, cmd(3, "deduct", 60)), (T0 + 55, cmd(5, "deduct", 45))]
    cases.append(case("mixed sequence with a rejection and its replay", seq))
    cases.extend(reversal_cases())
    cases.append(case("unknown wallet fields and the outbox are preserved",
                      [(T0 + 10, cmd(1, amount=10))],
                      wallet(1, outbox=[audit_record(cmd(0, amount=1), "applied", 1)], futureField={"x": [1, 2]})))
    return cases


def reversal_cases():
    out = []
    give = cmd(1, amount=50)
    out.append(case("a reversal of a give is a deduct of the same amount that names its original",
                    [(T0 + 10, give), (T0 + 20, reversal(2, give))], wallet(30)))
    dd = cmd(1, "deduct", 20)
    out.append(case("a reversal of a deduct is a give",
                    [(T0 + 10, dd), (T0 + 20, reversal(2, dd))], wallet(30)))
    rv = reversal(2, give)
    out.append(case("a retried reversal under the derived id is a duplicate",
                    [(T0 + 10, give), (T0 + 20, rv), (T0 + 30, rv)], wallet(30)))
    out.append(case("a second reversal of one original under another id is refused and recorded",
                    [(T0 + 10, give), (T0 + 20, reversal(2, give)),
                     (T0 + 30, reversal(3, give, txn=ulid(T0 + 3, 3)))], wallet(100)))
    out.append(case("a reversal of a give that would overdraw is refused for insufficient funds",
                    [(T0 + 10, give), (T0 + 20, cmd(2, "deduct", 60)), (T0 + 30, reversal(3, give))], wallet(30)))
    out.append(case("a refused reversal does not count: another reversal of the original applies",
                    [(T0 + 10, give), (T0 + 20, cmd(2, "deduct", 60)), (T0 + 30, reversal(3, give)),
                     (T0 + 40, cmd(4, amount=100)), (T0 + 50, reversal(5, give, txn=ulid(T0 + 5, 5)))], wallet(30)))
    late = reversal(3, give, txn=ulid(T0 + 3, 3))
    out.append(case("expiry is checked before an earlier reversal",
                    [(T0 + 10, give), (T0 + 20, reversal(2, give)), (late["expiresAt"] + 1, late)], wallet(100)))
    out.append(case("a reversal whose original the ring no longer holds applies",
                    [(T0 + 10, reversal(2, cmd(1, amount=5)))], wallet(5)))
    return out


def reversal_vectors():
    """Derived reversal ids (§2.1) and audit records naming an original (§6): `ok` tells whether
    the audit API stores the record."""
    ids = [{"original": o, "reversal": reversal_id(o)} for o in
           [cmd(1)["txn"], ulid(0, 0), ulid(2**48 - 1, 2**80 - 1), ulid(T0 + 77, 12345)]]
    g = cmd(1, amount=50)
    good = audit_record(reversal(2, g), "applied", 0)
    rows = [("a discord reversal naming its original", good, True),
            ("an ordinary record without reverses", audit_record(g, "applied", 50), True),
            ("a rejected reversal", audit_record(reversal(2, g), "rejected", 30, "already_reversed"), True),
            ("reverses names the record itself", dict(good, reverses=good["txnId"]), False),
            ("reverses not a ULID", dict(good, reverses="not-a-txn-id"), False),
            ("reverses in lower case", dict(good, reverses=good["reverses"].lower()), False),
            ("reverses as a number", dict(good, reverses=12), False),
            ("reverses null", dict(good, reverses=None), False),
            ("reverses on a game record", dict(audit_record(g, "applied", 50, source="game"),
                                               reverses=g["txn"]), False)]
    return {"ids": ids, "records": [{"name": n, "record": r, "ok": ok} for n, r, ok in rows]}


def audit_record(c, outcome, balance_after, reason=None, job="job-1", source="discord"):
    r = {"txnId": c["txn"], "source": source, "userId": c["userId"], "op": c["op"], "amount": c["amount"],
         "outcome": outcome}
    if reason:
        r["rejectReason"] = reason
    r["balanceAfter"] = balance_after
    r["reason"] = c["reason"]
    if source == "discord":
        r["actorId"] = c["actor"]["id"]
        r["actorName"] = c["actor"]["name"]
    if job:
        r["serverJobId"] = job
    r["issuedAt"] = c["issuedAt"]
    r["appliedAt"] = c["issuedAt"] + 5
    if "reverses" in c:
        r["reverses"] = c["reverses"]
    return r


def local_cases():
    out = []
    lim = {"maxAmount": 1000, "balanceCap": 5000}
    for name, bal, op, amt in [
        ("grant applies", 10, "give", 5), ("spend applies", 10, "deduct", 10),
        ("spend beyond the balance is refused", 10, "deduct", 11), ("grant 0 is out of range", 10, "give", 0),
        ("spend above maxAmount is out of range", 5000, "deduct", 1001), ("grant past the cap overflows", 4500, "give", 501),
        ("grant up to the cap applies", 4500, "give", 500),
    ]:
        nb, why = movement(bal, op, amt, lim)
        exp = {"ok": True, "balanceAfter": nb} if why is None else {"ok": False, "reason": why, "balanceAfter": bal}
        out.append({"name": name, "limits": lim, "balance": bal, "op": op, "amount": amt, "expect": exp})
    return out


def h(key, data):
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def rfc4231():
    k20 = b"\x0b" * 20
    big = b"\xaa" * 131
    cases = [
        (1, k20, b"Hi There", None),
        (2, b"Jefe", b"what do ya want for nothing?", None),
        (3, b"\xaa" * 20, b"\xdd" * 50, None),
        (4, bytes(range(1, 26)), b"\xcd" * 50, None),
        (5, b"\x0c" * 20, b"Test With Truncation", 16),
        (6, big, b"Test Using Larger Than Block-Size Key - Hash Key First", None),
        (7, big, b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.", None),
    ]
    out = []
    for n, key, data, trunc in cases:
        mac = h(key, data)
        if trunc:
            mac = mac[: trunc * 2]
        out.append({"name": f"RFC 4231 test case {n}", "keyHex": key.hex(), "dataHex": data.hex(),
                    "macHex": mac, **({"truncateBytes": trunc} if trunc else {})})
    # The RFC's published values for cases 1 and 2 pin the oracle itself.
    assert out[0]["macHex"] == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    assert out[1]["macHex"] == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    return out


def canonical_query(raw):
    pairs = []
    for part in raw.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        pairs.append((urllib.parse.unquote_plus(k, errors="strict"), urllib.parse.unquote_plus(v, errors="strict")))
    pairs.sort(key=lambda kv: (kv[0].encode(), kv[1].encode()))
    q = lambda s: urllib.parse.quote(s, safe="-._~")
    return "&".join(f"{q(k)}={q(v)}" for k, v in pairs)


KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))


def canonical(ts, method, path, query, idem, body):
    return "\n".join(["v1", str(ts), method.upper(), path, canonical_query(query), idem,
                      hashlib.sha256(body).hexdigest()])


def request_cases():
    ts = 1_700_000_000
    specs = [
        ("GET with an empty body", "GET", "/log/transactions/01HF7Z1RXAMPLE00000000000", "", "", b""),
        ("POST of one record", "POST", "/log/transactions", "", "f3c1e0a2-6a8e-4d1e-9b7a-2f4e9d1c0b11",
         b'{"txnId":"01HF7Z1R0000000000000000AB","amount":10}'),
        ("unicode body", "POST", "/log/transactions", "", "k-unicode", "{\"reason\":\"prix d'été 🎉 ünï\"}".encode()),
        ("query pairs sorted by key then value", "GET", "/log/transactions", "userId=5&limit=20&actor=9&actor=10", "", b""),
        ("plus and %20 both mean a space", "GET", "/log/transactions", "q=a+b&r=a%20b", "", b""),
        ("unicode and reserved characters in the query", "GET", "/log/transactions", "name=J%C3%BCrgen&x=a/b*c", "", b""),
        ("a key without a value", "GET", "/log/transactions", "flag&a=1", "", b""),
        ("lower-case method is upper-cased", "post", "/log/transactions", "", "idem-1", b"[]"),
        ("percent-encoded plus stays a plus", "GET", "/log/transactions", "q=%2B1", "", b""),
    ]
    out = []
    for name, method, path, query, idem, body in specs:
        can = canonical(ts, method, path, query, idem, body)
        out.append({"name": name, "timestamp": ts, "method": method, "path": path, "query": query,
                    "idempotencyKey": idem, "bodyHex": body.hex(), "keyId": "k1", "keyHex": KEY_A.hex(),
                    "canonicalQuery": canonical_query(query), "canonical": can,
                    "signature": "v1=" + h(KEY_A, can.encode())})
    return out


def verify_cases():
    """Requests checked against the ring k1 (read+write) and k2 (write only) at now=ts0."""
    ts0 = 1_700_000_000
    body = b'{"txnId":"01HF7Z1R0000000000000000AB"}'
    path, idem = "/log/transactions", "idem-42"

    def sig(key, ts, p=path, b=body, i=idem, m="POST"):
        return "v1=" + h(key, canonical(ts, m, p, "", i, b).encode())

    base = {"method": "POST", "path": path, "query": "", "idempotencyKey": idem, "bodyHex": body.hex(), "now": ts0}
    rows = [
        ("valid write", {"keyId": "k1", "timestamp": str(ts0), "signature": sig(KEY_A, ts0)}, {}, "write", "ok"),
        ("second key of the ring", {"keyId": "k2", "timestamp": str(ts0), "signature": sig(KEY_B, ts0)}, {}, "write", "ok"),
        ("300 s old is still accepted", {"keyId": "k1", "timestamp": str(ts0 - 300), "signature": sig(KEY_A, ts0 - 300)}, {}, "write", "ok"),
        ("301 s old is stale", {"keyId": "k1", "timestamp": str(ts0 - 301), "signature": sig(KEY_A, ts0 - 301)}, {}, "write", "stale"),
        ("300 s ahead is still accepted", {"keyId": "k1", "timestamp": str(ts0 + 300), "signature": sig(KEY_A, ts0 + 300)}, {}, "write", "ok"),
        ("301 s ahead is in the future", {"keyId": "k1", "timestamp": str(ts0 + 301), "signature": sig(KEY_A, ts0 + 301)}, {}, "write", "future"),
        ("retired key id", {"keyId": "k0", "timestamp": str(ts0), "signature": sig(KEY_A, ts0)}, {}, "write", "unknown_key"),
        ("signature by the other key", {"keyId": "k1", "timestamp": str(ts0), "signature": sig(KEY_B, ts0)}, {}, "write", "bad_signature"),
        ("valid signature replayed with another body", {"keyId": "k1", "timestamp": str(ts0), "signature": sig(KEY_A, ts0)},
         {"bodyHex": (body + b" ").hex()}, "write", "bad_signature"),
        ("valid signature replayed on another path", {"keyId": "k1", "timestamp": str(ts0), "signature": sig(KEY_A, ts0)},
         {"path": "/log/transactions/x"}, "write", "bad_signature"),
        ("valid signature replayed with another idempotency key", {"keyId": "k1", "timestamp": str(ts0), "signature": sig(KEY_A, ts0)},
         {"idempotencyKey": "idem-43"}, "write", "bad_signature"),
        ("timestamp not a number", {"keyId": "k1", "timestamp": "17e8", "signature": sig(KEY_A, ts0)}, {}, "write", "malformed"),
        ("negative timestamp", {"keyId": "k1", "timestamp": "-5", "signature": sig(KEY_A, ts0)}, {}, "write", "malformed"),
        ("signature without v1= prefix", {"keyId": "k1", "timestamp": str(ts0), "signature": sig(KEY_A, ts0)[3:]}, {}, "write", "malformed"),
        ("truncated signature", {"keyId": "k1", "timestamp": str(ts0), "signature": sig(KEY_A, ts0)[:-2]}, {}, "write", "malformed"),
        ("write-only key reading", {"keyId": "k2", "timestamp": str(ts0), "signature": sig(KEY_B, ts0)}, {}, "read", "scope"),
    ]
    out = []
    for name, headers, override, scope, expect in rows:
        req = dict(base)
        req.update(override)
        out.append({"name": name, "headers": headers, "request": req, "scope": scope, "expect": expect})
    return {"keys": f"k1:read+write:{KEY_A.hex()},k2:write:{KEY_B.hex()}", "cases": out}


def jdump(o):
    return json.dumps(o, ensure_ascii=False, separators=(",", ":"))


def message(c, kid, key):
    body = jdump(c)
    sig = h(key, f"EB1.{kid}.{body}".encode())
    return f"EB1.{kid}.{sig}.{body}"


def envelope_cases():
    kid = "cmd-2026"
    worst_reason = "😀" * 66 + '"' * 134  # 200 chars, 398 bytes, the most JSON bytes the caps allow
    assert len(worst_reason) == 200 and len(worst_reason.encode()) <= 400
    cmds = [
        ("typical give", cmd(1)),
        ("deduct with unicode reason", cmd(2, "deduct", 250, reason="Rückerstattung — 返金 ✓")),
        ("largest command the caps allow", dict(cmd(3, "deduct", -MAX_SAFE, user=MAX_SAFE, reason=worst_reason,
                                                    issued=MAX_SAFE - 900_000, ttl=900_000),
                                               actor={"id": "18446744073709551615", "name": "😀" * 32})),
        ("largest reversal the caps allow", dict(cmd(4, "deduct", -MAX_SAFE, user=MAX_SAFE, reason=worst_reason,
                                                     issued=MAX_SAFE - 900_000, ttl=900_000,
                                                     reverses=ulid(2**48 - 1, 2**80 - 1)),
                                                 actor={"id": "18446744073709551615", "name": "😀" * 32})),
        ("a reversal", reversal(5, cmd(1))),
    ]
    enc = []
    for name, c in cmds:
        m = message(c, kid, KEY_A)
        assert len(m.encode()) <= 1024, (name, len(m.encode()))
        enc.append({"name": name, "keyId": kid, "keyHex": KEY_A.hex(), "command": c, "message": m,
                    "bytes": len(m.encode())})
    good = enc[0]["message"]
    prefix, k, s, body = good.split(".", 3)
    reject = [
        ("body changed after signing", good.replace('"amount":10', '"amount":99'), "bad_signature"),
        ("signature of another key", message(cmd(1), kid, KEY_B), "bad_signature"),
        ("key id not configured", message(cmd(1), "other", KEY_A), "unknown_key"),
        ("not EB1 framing", "EB2" + good[3:], "framing"),
        ("signature not hex", f"{prefix}.{k}.{'zz' * 32}.{body}", "framing"),
        ("upper-case signature hex", f"{prefix}.{k}.{s.upper()}.{body}", "framing"),
        ("missing body", f"{prefix}.{k}.{s}", "framing"),
        ("over 1 KiB", good + " " * (1025 - len(good.encode())), "too_large"),
        ("signed but not JSON", message_raw("not json", kid, KEY_A), "body"),
        ("signed JSON array instead of an object", message_raw(jdump(list(cmd(1).values())), kid, KEY_A), "body"),
        ("signed command whose actor is an array", message_raw(jdump(dict(cmd(1), actor=["1", "x"])), kid, KEY_A), "body"),
        ("signed JSON with a duplicated field", message_raw(jdump(cmd(1))[:-1] + ',"amount":99}', kid, KEY_A), "body"),
        ("signed JSON with a duplicated field inside the actor",
         message_raw(jdump(cmd(1)).replace('"name":"Mod"', '"name":"Mod","name":"Mod"'), kid, KEY_A), "body"),
        ("signed JSON with an unknown field", message_raw(jdump(dict(cmd(1), extra=1)), kid, KEY_A), "body"),
        ("signed but invalid (amount beyond 2^53)", message_raw(jdump(dict(cmd(1), amount=2**53)), kid, KEY_A), "invalid"),
        ("signed but invalid (a right-to-left override in the reason)",
         message_raw(jdump(cmd(1, reason="refund \u202eevif")), kid, KEY_A), "invalid"),
        ("signed but expiresAt not after issuedAt", message_raw(jdump(cmd(1, ttl=0)), kid, KEY_A), "invalid"),
        ("signed reversal naming itself", message_raw(jdump(dict(cmd(1), reverses=cmd(1)["txn"])), kid, KEY_A), "invalid"),
        ("signed reversal whose original is not a ULID",
         message_raw(jdump(dict(cmd(1), reverses=cmd(1)["txn"].lower())), kid, KEY_A), "body"),
        ("signed reversal whose original is null", message_raw(jdump(dict(cmd(1), reverses=None)), kid, KEY_A), "body"),
    ]
    return {"encode": enc, "reject": [{"name": n, "keyId": kid, "keyHex": KEY_A.hex(), "message": m, "expect": e}
                                      for n, m, e in reject]}


BATCH_FIELDS = ["v", "batch", "op", "amount", "reason", "actor", "issuedAt", "expiresAt", "users"]


def item_txn(batch, user):
    """§3.1: the batch id's timestamp, then the first 80 bits of
    SHA-256("economy-batch-item/v1:" + batch + ":" + decimal user id)."""
    digest = hashlib.sha256(b"economy-batch-item/v1:" + batch.encode() + b":" + str(user).encode()).digest()
    return ulid(ulid_time(batch), int.from_bytes(digest[:10], "big"))


def envelope(n, users, reason="event prize", issued=None, ttl=300_000, op="give", amount=10, actor=None):
    """A batch envelope body (§3.1) sharing cmd(n)'s fields; its batch id is minted like a txn id."""
    c = cmd(n, op, amount, issued, ttl, reason=reason)
    e = {"v": 1, "batch": ulid(ulid_time(c["txn"]), 7_000 + n), "op": op, "amount": amount, "reason": reason,
         "actor": actor or c["actor"], "issuedAt": c["issuedAt"], "expiresAt": c["expiresAt"], "users": users}
    assert list(e) == BATCH_FIELDS
    return e


def expand(e):
    """The commands an envelope carries, in its order: each handled as if it had arrived alone."""
    return [{"v": e["v"], "txn": item_txn(e["batch"], u), "op": e["op"], "userId": u, "amount": e["amount"],
             "reason": e["reason"], "actor": e["actor"], "issuedAt": e["issuedAt"], "expiresAt": e["expiresAt"]}
            for u in e["users"]]


def batch_cases():
    """Batch envelopes (§3.1): derived item txn ids, exact encodings with the commands they carry,
    and envelopes a receiver must refuse (label as in §3)."""
    kid = "cmd-2026"
    pinned = ulid(1_795_219_200_000, 7)
    ids = [{"batch": pinned, "userId": u, "txn": item_txn(pinned, u)} for u in (1001, 1, 1002, MAX_SAFE)]
    assert ids[0]["txn"] == "01M7XPE600TSEBCWH922VG2JT1", ids[0]  # the bot's own pinned value
    other = ulid(T0, 2**80 - 1)
    ids += [{"batch": other, "userId": u, "txn": item_txn(other, u)} for u in (1001, 123)]
    assert len({i["txn"] for i in ids}) == len(ids)

    worst_reason = "😀" * 66 + '"' * 134
    worst_actor = {"id": "18446744073709551615", "name": "😀" * 32}
    ten_digit = [4_000_000_000 + 7 * i for i in range(200)]
    most = 0
    while len(message(envelope(3, ten_digit[:most + 1], reason="winter event winners"), kid, KEY_A).encode()) <= 1024:
        most += 1
    specs = [
        ("three players", envelope(1, [1001, 1002, 1003])),
        ("one player, the largest header the caps allow",
         envelope(2, [MAX_SAFE], reason=worst_reason, issued=MAX_SAFE - 900_000, ttl=900_000, op="deduct",
                  amount=-MAX_SAFE, actor=worst_actor)),
        (f"as many 10-digit players as fit with a 20-character reason ({most})",
         envelope(3, ten_digit[:most], reason="winter event winners")),
        ("a deduct with a unicode reason", envelope(4, [123, 9_007_199_254_740_991], op="deduct", amount=250,
                                                    reason="Rückerstattung — 返金 ✓")),
    ]
    enc = []
    for name, e in specs:
        m = message(e, kid, KEY_A)
        assert len(m.encode()) <= 1024, (name, len(m.encode()))
        enc.append({"name": name, "keyId": kid, "keyHex": KEY_A.hex(), "envelope": e, "message": m,
                    "bytes": len(m.encode()), "commands": expand(e)})
    base = envelope(1, [1001, 1002, 1003])
    good = enc[0]["message"]

    def signed(body):
        return message_raw(body, kid, KEY_A)

    def mutated(**over):
        return signed(jdump(dict(base, **over)))

    reject = [
        ("over 1 KiB", message(envelope(3, ten_digit[:most + 1], reason="winter event winners"), kid, KEY_A),
         "too_large"),
        ("a player added after signing", good.replace("1003]", "1003,1004]"), "bad_signature"),
        ("signature of another key", message(base, kid, KEY_B), "bad_signature"),
        ("an unknown field", mutated(extra=1), "body"),
        ("a txn field as well (a command and an envelope mixed)", mutated(txn=cmd(1)["txn"]), "body"),
        ("a userId field as well", mutated(userId=123), "body"),
        ("a reversal packed in an envelope", mutated(reverses=cmd(9)["txn"]), "body"),
        ("users missing", signed(jdump({k: v for k, v in base.items() if k != "users"})), "body"),
        ("users not an array", mutated(users=1001), "body"),
        ("users null", mutated(users=None), "body"),
        ("a user id written as a string", mutated(users=[1001, "1002"]), "body"),
        ("a negative user id", mutated(users=[1001, -5]), "body"),
        ("a user id with a fraction", signed(jdump(base).replace("1002", "1002.0")), "body"),
        ("a user id in exponent form", signed(jdump(base).replace("1002", "1.002e3")), "body"),
        ("a user id beyond 2^64", mutated(users=[18_446_744_073_709_551_616]), "body"),
        ("batch id in lower case", mutated(batch=base["batch"].lower()), "body"),
        ("batch twice", signed(jdump(base)[:-1] + ',"batch":' + jdump(cmd(2)["txn"]) + "}"), "body"),
        ("no players", mutated(users=[]), "invalid"),
        ("a player named twice", mutated(users=[1001, 1002, 1001]), "invalid"),
        ("user id 0", mutated(users=[1001, 0]), "invalid"),
        ("user id 2^53 (beyond a Luau number's exact range)", mutated(users=[2**53]), "invalid"),
        ("a blank reason", mutated(reason="   "), "invalid"),
        ("a validity window over 15 minutes", mutated(expiresAt=base["issuedAt"] + 900_001), "invalid"),
        ("protocol version 2", mutated(v=2), "invalid"),
    ]
    assert len(message(envelope(3, ten_digit[:most + 1], reason="winter event winners"), kid, KEY_A).encode()) > 1024
    return {"itemTxns": ids, "encode": enc,
            "reject": [{"name": n, "keyId": kid, "keyHex": KEY_A.hex(), "message": m, "expect": e}
                       for n, m, e in reject]}


class _Obj(dict):
    """A decoded JSON object that remembers the first duplicated key inside it (relative path)."""
    dup = None


def _first_dup(v):
    if isinstance(v, _Obj):
        return v.dup
    if isinstance(v, list):
        for i, item in enumerate(v):
            inner = _first_dup(item)
            if inner is not None:
                return f"[{i}]" + ("" if inner.startswith("[") else ".") + inner
    return None


def _pairs(pairs):
    """object_pairs_hook: keeps every pair and finds the first duplicate in document order (a key
    is read before its value, so a repeated key comes before anything inside its value)."""
    out, seen = _Obj(), set()
    for k, v in pairs:
        if k in seen:
            out.dup = k
            break
        seen.add(k)
        inner = _first_dup(v)
        if inner is not None:
            out.dup = k + ("" if inner.startswith("[") else ".") + inner
            break
        out[k] = v
    return out


def duplicate_path(text):
    """The path of the first key that appears twice in one object (`records[1].amount`), or None."""
    return _first_dup(json.loads(text, object_pairs_hook=_pairs))


def body_cases():
    """Audit API POST bodies (docs/protocol.md §8): strict JSON refuses a key twice in any object."""
    def rec(n, **over):
        r = audit_record(cmd(n), "applied", 10)
        r.update(over)
        return jdump(r)

    def twice(text, key, value):
        # The same key appended once more at the end of the object.
        return text[:-1] + "," + jdump(key) + ":" + jdump(value) + "}"

    one = rec(1)
    specs = [
        ("one valid record", rec(1)),
        ("a batch of two records (the same keys in sibling objects)", '{"records":[' + rec(2) + "," + rec(3) + "]}"),
        ("amount twice with different values", twice(rec(4), "amount", 7)),
        ("amount twice with the same value", twice(rec(5), "amount", 10)),
        ("txnId twice", twice(rec(6), "txnId", cmd(99)["txn"])),
        ("reason twice, the first written with an escape", one.replace('"reason"', '"\\u0072eason"', 1)[:-1]
         + ',"reason":"other"}'),
        ("records twice in the batch wrapper", '{"records":[' + rec(7) + '],"records":[' + rec(8) + "]}"),
        ("records twice, both empty", '{"records":[],"records":[]}'),
        ("a duplicate inside the second record of a batch",
         '{"records":[' + rec(9) + "," + twice(rec(10), "amount", 11) + "]}"),
        ("a duplicate inside an unknown nested object", rec(11)[:-1] + ',"extra":{"a":1,"a":2}}'),
        ("the first duplicate in document order is named",
         '{"records":[' + twice(rec(12), "userId", 5) + "," + twice(rec(13), "amount", 1) + "]}"),
    ]
    out = []
    for name, text in specs:
        json.loads(text)  # plain JSON either way: only the duplicate makes it invalid
        out.append({"name": name, "body": text, "duplicate": duplicate_path(text)})
    assert [c["duplicate"] for c in out] == [None, None, "amount", "amount", "txnId", "reason", "records", "records",
                                             "records[1].amount", "extra.a", "records[0].userId"], out
    return out


WHITE_SPACE = set(map(chr, [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F,
                            0x205F, 0x3000, *range(0x2000, 0x200B)]))
DISGUISING = set(map(chr, [0x061C, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F), 0x2060,
                           *range(0x2066, 0x206A), 0xFEFF]))


def text_ok(s, max_chars, max_bytes=None):
    """docs/protocol.md §1: not blank, bounded, no control (Cc), bidi-control or zero-width characters."""
    control = lambda ch: ord(ch) <= 0x1F or 0x7F <= ord(ch) <= 0x9F
    return (any(ch not in WHITE_SPACE for ch in s) and len(s) <= max_chars
            and (max_bytes is None or len(s.encode()) <= max_bytes)
            and not any(control(ch) or ch in DISGUISING for ch in s))


def text_cases():
    """Reasons and actor names: which a receiver accepts (`ok`)."""
    out = []
    for cp in sorted(DISGUISING):
        out.append((f"U+{ord(cp):04X} in a reason", "reason", "pay " + cp + "100"))
    out += [
        ("U+202E (right-to-left override) in a name", "name", "Mod\u202e"),
        ("U+200B (zero-width space) alone as a name", "name", "\u200b"),
        ("U+FEFF (byte order mark) leading a name", "name", "\ufeffMod"),
        ("a control character in a reason", "reason", "a\u0007b"),
        ("plain reason", "reason", "event prize"),
        ("right-to-left text without controls", "reason", "جائزة الحدث"),
        ("U+200A (hair space, not zero-width) is allowed", "reason", "a\u200ab"),
        ("U+2061 (function application) is allowed", "reason", "f\u2061x"),
        ("U+202F (narrow no-break space) is allowed in a name", "name", "Mod\u202fA"),
        ("emoji with a variation selector and joiner-free sequence", "name", "☺️ Mod"),
        ("blank reason", "reason", " \u3000 "),
    ]
    cases = []
    for name, field, text in out:
        ok = text_ok(text, 200, 400) if field == "reason" else text_ok(text, 32)
        cases.append({"name": name, "field": field, "text": text, "ok": ok})
    assert sum(c["ok"] for c in cases) == 6, cases
    return cases


MAX_SAFE = 2**53 - 1


def stored_integer(literal):
    """docs/protocol.md §4.1: the integer a stored JSON number denotes, or None when refused.
    Plain digits are read as written; an exponent or decimal form (a DataStore may write
    `1e+15`) is read as the double nearest to it (what Luau would hold), taken when that double
    is integral and within ±(2^53 - 1)."""
    if all(ch.isdigit() for ch in literal.lstrip("-")):
        return int(literal)
    f = float(literal)
    if f != int(f) or abs(f) > MAX_SAFE:
        return None
    return int(f)


def stored_number_cases():
    """A wallet document whose balance is written as `literal`: the balance a reader takes, or
    null when the document is refused."""
    literals = [
        ("plain digits", "1000000000000000"),
        ("exponent form, as JSONEncode prints it", "1e+15"),
        ("exponent form, capital E", "1E15"),
        ("exponent form with a fraction", "1.5e+3"),
        ("decimal form", "250.0"),
        ("negative zero", "-0.0"),
        ("2^53 - 1 in exponent form", "9.007199254740991e+15"),
        ("2^53 in exponent form (beyond the exact range)", "9.007199254740992e+15"),
        ("a fraction", "12.5"),
        ("a fraction in exponent form", "1.25e+1"),
        ("huge exponent", "1e+300"),
    ]
    return [{"name": n, "literal": lit, "balance": stored_integer(lit)} for n, lit in literals]


def message_raw(body, kid, key):
    return f"EB1.{kid}.{h(key, f'EB1.{kid}.{body}'.encode())}.{body}"


def write(name, obj):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, ensure_ascii=False, indent=1))
        f.write("\n")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    write("apply_rule.json", {"about": "Apply-rule cases (docs/protocol.md §4). Each case applies its steps in order "
                              "to `wallet`; every step lists the expected outcome; `finalWallet` is the document after.",
                              "ringCapacity": RING, "maxFutureSkewMs": SKEW, "cases": apply_cases(),
                              "localCases": local_cases()})
    write("signing.json", {"about": "HMAC-SHA256 (RFC 4231) and audit-API request signing (docs/protocol.md §5).",
                           "hmac": rfc4231(), "canonical": request_cases(), "verify": verify_cases()})
    write("envelopes.json", {"about": "economy.command messages (docs/protocol.md §3): exact encodings that fit 1 KiB, "
                             "and messages a receiver must refuse.", "maxBytes": 1024, **envelope_cases()})
    write("audit_bodies.json", {"about": "Audit API POST bodies (docs/protocol.md §8): `duplicate` names the first "
                                "key that appears twice in one object (document order), or is null when the body "
                                "is strict JSON. Every reader refuses a body with a duplicate.", "cases": body_cases()})
    write("text_fields.json", {"about": "Reasons (1-200 characters, <= 400 bytes) and actor names (1-32 characters) "
                               "(docs/protocol.md §1): `ok` tells whether a receiver accepts the text. Control, "
                               "bidirectional-control and zero-width characters are refused.", "cases": text_cases()})
    write("stored_numbers.json", {"about": "Numbers in a stored wallet document (docs/protocol.md §4.1): the "
                                  "`balance` a reader takes when the document's balance is written as `literal`, "
                                  "or null when it refuses the document.", "cases": stored_number_cases()})
    write("reversals.json", {"about": "Reversals (docs/protocol.md §2.1, §6): `ids` pairs an original txn id "
                             "with the id of its one reversal; `records` are audit records naming an original "
                             "and whether the audit API stores them (`ok`).", **reversal_vectors()})
    write("batches.json", {"about": "Batch envelopes (docs/protocol.md §3.1): `itemTxns` pairs a batch id and a user id "
                           "with the derived txn id of that player's command; `encode` gives exact envelope messages "
                           "and the commands each carries, in order; `reject` gives envelopes a receiver must refuse "
                           "(labels as in §3).", "maxBytes": 1024, **batch_cases()})
    print("wrote testdata/apply_rule.json, reversals.json, batches.json, signing.json, envelopes.json, audit_bodies.json, text_fields.json, "
          "stored_numbers.json")
