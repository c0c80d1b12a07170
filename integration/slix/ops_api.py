"""The REST API for backends, checked against what clients see on the
wire: friendship checks over subscriptions made by real clients, presence
as clients set it, messages the API sends arriving at clients (and in
offline storage), kicks closing a client's stream.

usage: ops_api.py CASE; accounts are CASE-named, password "pw". The API is
reached at XMPPD_HTTP with the token XMPPD_TOKEN.
"""
import asyncio
import json
import os
import sys
import urllib.error
import urllib.request

from common import Client, DOMAIN, expect, jid, run
from roster_lib import RosterClient, frm

case = sys.argv[1]
HTTP = os.environ["XMPPD_HTTP"]
TOKEN = os.environ["XMPPD_TOKEN"]


def user(name):
    return "%s-%s" % (case, name)


def api_sync(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request("http://%s%s" % (HTTP, path), data=data, method=method,
                                 headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


async def api(method, path, body=None):
    """Call the API off the event loop, so the clients keep reading."""
    return await asyncio.get_running_loop().run_in_executor(None, api_sync, method, path, body)


async def login(name, res, cls=Client, **kw):
    return await cls(jid(user(name), res), "pw").start(**kw)


async def befriend(a, b):
    """a and b subscribe to each other, as clients do it."""
    a.send_presence(pto=b.boundjid.bare, ptype="subscribe")
    await b.next_presence(frm(a.boundjid.bare, "subscribe"))
    b.send_presence(pto=a.boundjid.bare, ptype="subscribed")
    b.send_presence(pto=a.boundjid.bare, ptype="subscribe")
    await a.next_presence(frm(b.boundjid.bare, "subscribe"))
    a.send_presence(pto=b.boundjid.bare, ptype="subscribed")
    await b.next_presence(frm(a.boundjid.bare, "subscribed"))


async def friendship():
    alice = await login("alice", "pc", RosterClient)
    bob = await login("bob", "pc", RosterClient)
    carol = await login("carol", "pc", RosterClient)
    await alice.set_item(jid(user("bob")), name="Bob", groups=["Duo"], note="secret about bob")
    await befriend(alice, bob)
    # alice asks carol, who does not answer.
    alice.send_presence(pto=jid(user("carol")), ptype="subscribe")
    await carol.next_presence(frm(jid(user("alice")), "subscribe"))

    a, b, c = jid(user("alice")), jid(user("bob")), jid(user("carol"))
    st, f = await api("GET", "/api/v1/users/%s/friends/%s" % (a, b))
    expect(st == 200 and f["friends"] is True, "alice/bob: %s %s" % (st, f))
    expect(f["user_side"]["subscription"] == "both" and f["contact_side"]["subscription"] == "both", "both ways: %s" % f)
    st, f = await api("GET", "/api/v1/users/%s/friends/%s" % (a, c))
    expect(st == 200 and f["friends"] is False, "alice/carol: %s %s" % (st, f))
    expect(f["user_side"]["pending_out"] is True and f["contact_side"]["pending_in"] is True, "pending: %s" % f)
    st, f = await api("GET", "/api/v1/users/%s/friends/%s" % (a, jid("nobody-" + case)))
    expect(st == 404 and "no such user" in f["error"], "unknown contact: %s %s" % (st, f))

    st, r = await api("POST", "/api/v1/friendships/check", {"pairs": [
        {"user": a, "contact": b}, {"user": b, "contact": c}, {"user": c, "contact": a}, {"user": a, "contact": "x@@y"}]})
    expect(st == 200, "batch: %s %s" % (st, r))
    got = [(x["friends"], x["status"]) for x in r["results"]]
    expect(got == [(True, 200), (False, 200), (False, 200), (False, 400)], "batch results: %s" % r)

    st, fl = await api("GET", "/api/v1/users/%s/friends" % a)
    expect(st == 200 and [x["jid"] for x in fl["contacts"]] == [b], "friends list: %s" % fl)
    st, ro = await api("GET", "/api/v1/users/%s/roster" % a)
    expect(st == 200 and sorted(x["jid"] for x in ro["contacts"]) == [b, c], "roster: %s" % ro)
    bob_item = [x for x in ro["contacts"] if x["jid"] == b][0]
    expect(bob_item["name"] == "Bob" and bob_item["groups"] == ["Duo"], "bob's item: %s" % bob_item)
    expect("secret" not in json.dumps(ro) and "note" not in json.dumps(ro), "the note leaked: %s" % ro)

    # Presence as the client set it.
    alice.send_presence(pshow="dnd", pstatus="in a match", ppriority=4)
    await bob.next_presence(lambda p: p["show"] == "dnd")
    st, p = await api("GET", "/api/v1/users/%s/presence" % a)
    expect(st == 200 and p["online"] and p["available"], "presence: %s %s" % (st, p))
    res = p["resources"][0]
    expect(res["jid"] == jid(user("alice"), "pc") and res["show"] == "dnd" and res["status"] == "in a match"
           and res["priority"] == 4, "alice's resource: %s" % res)
    for cl in (alice, bob, carol):
        await cl.stop()
    await asyncio.sleep(0.3)
    st, p = await api("GET", "/api/v1/users/%s/presence" % a)
    expect(st == 200 and not p["online"] and p["resources"] == [], "presence offline: %s" % p)


async def messages():
    alice = await login("alice", "pc", priority=1)
    a, b = jid(user("alice")), jid(user("bob"))
    st, r = await api("POST", "/api/v1/messages", {"to": a, "body": "server maintenance at 03:00"})
    expect(st == 202, "send: %s %s" % (st, r))
    m = await alice.next_message()
    expect(str(m["from"]) == DOMAIN and m["body"] == "server maintenance at 03:00" and m["type"] == "chat",
           "from the server: %s" % m)
    expect(m["id"] == r["id"], "id %s, API said %s" % (m["id"], r["id"]))

    st, r = await api("POST", "/api/v1/messages", {"to": jid(user("alice"), "pc"), "from": b, "type": "headline",
                                                    "subject": "Match found", "body": "accept within 10s"})
    expect(st == 202, "headline: %s %s" % (st, r))
    m = await alice.next_message()
    expect(str(m["from"]) == b and m["type"] == "headline" and m["subject"] == "Match found", "headline as bob: %s" % m)

    # bob is offline: a chat message waits for him in offline storage.
    st, r = await api("POST", "/api/v1/messages", {"to": b, "from": a, "body": "gg"})
    expect(st == 202, "to offline: %s %s" % (st, r))
    bob = await login("bob", "pc")
    m = await bob.next_message()
    expect(str(m["from"]).startswith(a) and m["body"] == "gg", "offline message: %s" % m)

    for body, want in ((({"to": jid("ghost-" + case), "body": "x"}), 404),
                       ({"to": a}, 400),
                       ({"to": a, "from": "nobody@" + DOMAIN, "body": "x"}, 404),
                       ({"to": a, "type": "groupchat", "body": "x"}, 400)):
        st, r = await api("POST", "/api/v1/messages", body)
        expect(st == want and r.get("error"), "%s: %s %s, want %d" % (body, st, r, want))
    await alice.no_message(0.5)
    await alice.stop()
    await bob.stop()


async def kick():
    phone = await login("alice", "phone")
    pc = await login("alice", "pc")
    a = jid(user("alice"))
    st, s = await api("GET", "/api/v1/sessions/%s" % a)
    expect(st == 200 and len(s["sessions"]) == 2, "sessions: %s" % s)
    st, r = await api("DELETE", "/api/v1/sessions/%s/phone?reason=%s" % (a, "account%20suspended"))
    expect(st == 200 and r["closed"] == 1, "kick: %s %s" % (st, r))
    await asyncio.wait_for(phone.gone.wait(), 10)
    expect(phone.stream_errors == ["policy-violation"], "kicked session's stream errors: %s" % phone.stream_errors)
    # The other resource is untouched.
    await pc["xep_0199"].ping(DOMAIN, timeout=5)
    st, r = await api("DELETE", "/api/v1/sessions/%s/phone" % a)
    expect(st == 404, "kick again: %s %s" % (st, r))
    st, r = await api("DELETE", "/api/v1/sessions/%s" % a, {"reason": "maintenance"})
    expect(st == 200 and r["closed"] == 1 and r["reason"] == "maintenance", "kick all: %s %s" % (st, r))
    await asyncio.wait_for(pc.gone.wait(), 10)


async def debug():
    alice = await login("alice", "pc")
    a = jid(user("alice"))
    st, r = await api("PUT", "/api/v1/debug/%s?for=10m" % a)
    expect(st == 200 and r["debug"] is True and r["until"], "debug on: %s %s" % (st, r))
    st, s = await api("GET", "/api/v1/sessions/%s" % a)
    expect(s["sessions"][0]["debug"] is True, "session not in debug: %s" % s)
    # A message from alice is now logged raw (the Go test reads the log).
    alice.send_message(mto=DOMAIN, mbody="debug-marker-" + case)
    await alice["xep_0199"].ping(DOMAIN, timeout=5)
    st, r = await api("PUT", "/api/v1/debug/%s?for=2d" % a)
    expect(st == 400 and "for:" in r["error"], "too long: %s %s" % (st, r))
    st, r = await api("DELETE", "/api/v1/debug/%s" % a)
    expect(st == 200 and r["debug"] is False, "debug off: %s %s" % (st, r))
    st, s = await api("GET", "/api/v1/sessions/%s" % a)
    expect(s["sessions"][0]["debug"] is False, "session still in debug: %s" % s)
    await alice.stop()


CASES = {"friendship": friendship, "messages": messages, "kick": kick, "debug": debug}

if __name__ == "__main__":
    run(CASES[case])
