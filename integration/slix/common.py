"""Shared pieces of the slixmpp scenarios.

Each scenario is a script run by the Go integration tests against a fresh
xmppd (addresses in XMPPD_* environment variables). It exits 0 when every
check passed and non-zero with a message otherwise. Checks use `expect`,
which raises with a description, never plain asserts (python -O strips
those).
"""
import asyncio
import os
import ssl
import sys

import slixmpp
from slixmpp.exceptions import IqError

C2S = os.environ.get("XMPPD_C2S", "127.0.0.1:5222")
TLS = os.environ.get("XMPPD_TLS", "127.0.0.1:5223")
DOMAIN = os.environ.get("XMPPD_DOMAIN", "localhost")
TIMEOUT = 10


def hostport(addr):
    host, port = addr.rsplit(":", 1)
    return host, int(port)


class Failed(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Failed(what)


class Client(slixmpp.ClientXMPP):
    """A slixmpp client that trusts the test server's self-signed
    certificate and records what it receives."""

    def __init__(self, jid, password, plugins=("xep_0030", "xep_0092", "xep_0199"), mechanism=None):
        super().__init__(jid, password, sasl_mech=mechanism)
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        for p in plugins:
            self.register_plugin(p)
        self.messages = asyncio.Queue()
        self.presences = asyncio.Queue()
        self.failed_auth = asyncio.Event()
        self.auth_failures = []  # SASL <failure/> conditions, in order
        self.message_errors = asyncio.Queue()
        self.stream_errors = []  # stream error conditions, in order
        self.gone = asyncio.Event()  # set once the connection is lost
        self.add_event_handler("message", self.messages.put_nowait)
        self.add_event_handler("message_error", self.message_errors.put_nowait)
        self.add_event_handler("presence", self.presences.put_nowait)
        self.add_event_handler("failed_auth", self._on_failed_auth)
        self.add_event_handler("stream_error", lambda e: self.stream_errors.append(e["condition"]))
        self.add_event_handler("disconnected", lambda _: self.gone.set())

    def _on_failed_auth(self, failure):
        self.auth_failures.append(failure["condition"])
        self.failed_auth.set()

    def dial(self, direct_tls=False):
        """Start connecting (STARTTLS, or direct TLS per XEP-0368)."""
        if direct_tls:
            self.connect(hostport(TLS), use_ssl=True, force_starttls=False)
        else:
            self.connect(hostport(C2S))

    async def start(self, direct_tls=False, presence=True, priority=None):
        """Connect, authenticate, bind; optionally send initial presence
        (with the given priority). Fails at once when authentication
        fails or the stream closes."""
        self.dial(direct_tls)
        outcome = await self.session_outcome()
        expect(outcome == "session_start", "%s: no session (%s); SASL failures %s, stream errors %s"
               % (self.requested_jid, outcome, self.auth_failures, self.stream_errors))
        if presence:
            self.send_presence(ppriority=priority)
        return self

    async def session_outcome(self):
        """Wait for the first of session_start, failed_auth and
        disconnected and return its name ("timeout" if none comes)."""
        events = ("session_start", "failed_auth", "disconnected")
        waits = {asyncio.ensure_future(self.wait_until(e)): e for e in events}
        done, pending = await asyncio.wait(set(waits), timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        for f in pending:
            f.cancel()
        if not done:
            return "timeout"
        return waits[done.pop()]

    async def start_failing(self, direct_tls=False):
        """Connect and expect authentication to fail; returns the SASL
        failure condition and disconnects."""
        self.dial(direct_tls)
        outcome = await self.session_outcome()
        expect(outcome == "failed_auth", "%s: %s, expected a SASL failure (stream errors %s)"
               % (self.requested_jid, outcome, self.stream_errors))
        await self.stop()
        return self.auth_failures[0]

    async def next_error(self, timeout=TIMEOUT):
        """Return the next message of type error."""
        return await asyncio.wait_for(self.message_errors.get(), timeout)

    async def no_error(self, wait=0.7):
        """Expect that no message error arrives within wait seconds."""
        await quiet(self.message_errors, wait, "error message")

    async def next_presence(self, match=lambda p: True, timeout=TIMEOUT):
        """Return the next presence for which match is true, skipping others."""
        async def wait():
            while True:
                p = await self.presences.get()
                if match(p):
                    return p
        return await asyncio.wait_for(wait(), timeout)

    async def next_message(self, timeout=TIMEOUT):
        return await asyncio.wait_for(self.messages.get(), timeout)

    async def no_message(self, wait=0.7):
        """Expect that no message arrives within wait seconds."""
        await quiet(self.messages, wait, "message")

    async def stop(self):
        if self.gone.is_set():
            return
        self.disconnect()
        try:
            await asyncio.wait_for(self.gone.wait(), TIMEOUT)
        except asyncio.TimeoutError:
            pass


async def quiet(queue, wait, what):
    """Expect that nothing arrives on queue within wait seconds."""
    try:
        got = await asyncio.wait_for(queue.get(), wait)
    except asyncio.TimeoutError:
        return
    raise Failed("unexpected %s: %s" % (what, got))


def condition(stanza):
    """The defined condition of an error stanza."""
    return stanza["error"]["condition"]


async def iq_error(iq):
    """Send iq and return the condition of the error answering it; fail
    on a result."""
    try:
        res = await iq.send(timeout=TIMEOUT)
    except IqError as e:
        return e.iq["error"]["condition"]
    raise Failed("expected an error, got %s" % res)


def jid(local, resource=None):
    j = "%s@%s" % (local, DOMAIN)
    return j + "/" + resource if resource else j


def run(scenario):
    """Run an async scenario and turn its outcome into an exit code."""
    try:
        asyncio.run(asyncio.wait_for(scenario(), 80))
    except Failed as e:
        print("FAILED:", e)
        sys.exit(1)
    print("ok")
