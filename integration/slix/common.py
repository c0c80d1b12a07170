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

    def __init__(self, jid, password, plugins=("xep_0030", "xep_0092", "xep_0199")):
        super().__init__(jid, password)
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        for p in plugins:
            self.register_plugin(p)
        self.messages = asyncio.Queue()
        self.presences = asyncio.Queue()
        self.failed_auth = asyncio.Event()
        self.add_event_handler("message", self.messages.put_nowait)
        self.add_event_handler("presence", self.presences.put_nowait)
        self.add_event_handler("failed_auth", lambda _: self.failed_auth.set())

    async def start(self, direct_tls=False, presence=True):
        """Connect, authenticate, bind; optionally send initial presence."""
        if direct_tls:
            self.connect(hostport(TLS), use_ssl=True, force_starttls=False)
        else:
            self.connect(hostport(C2S))
        await asyncio.wait_for(self.wait_until("session_start"), TIMEOUT)
        if presence:
            self.send_presence()
        return self

    async def next_message(self, timeout=TIMEOUT):
        return await asyncio.wait_for(self.messages.get(), timeout)

    async def no_message(self, wait=0.7):
        """Expect that no message arrives within wait seconds."""
        try:
            m = await asyncio.wait_for(self.messages.get(), wait)
        except asyncio.TimeoutError:
            return
        raise Failed("unexpected message: %s" % m)

    async def stop(self):
        self.disconnect()
        try:
            await asyncio.wait_for(self.wait_until("disconnected"), TIMEOUT)
        except asyncio.TimeoutError:
            pass


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
