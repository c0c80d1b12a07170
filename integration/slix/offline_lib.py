"""Helpers of the offline-message scenarios (XEP-0160): a client that
records every message it gets (bodyless ones too), and senders that set
ids and payloads."""
import asyncio
import datetime
import xml.etree.ElementTree as ET

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from common import Client, DOMAIN, TIMEOUT, expect, jid

DELAY = "{urn:xmpp:delay}delay"


class OfflineClient(Client):
    """A client that queues every <message/> that is not an error, with or
    without a body, in self.all."""

    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.all = asyncio.Queue()
        self.register_handler(Callback("all messages", MatchXPath("{jabber:client}message"), self._any))

    def _any(self, msg):
        if msg["type"] != "error":
            self.all.put_nowait(msg)

    def send_raw_message(self, to, mid, mtype="chat", body=None, extra=()):
        """Send a message with the given id, optional body and extra child
        elements given as XML strings."""
        m = self.make_message(mto=to, mtype=mtype)
        m["id"] = mid
        if body is not None:
            m["body"] = body
        for x in extra:
            m.xml.append(ET.fromstring(x))
        m.send()

    async def sync(self):
        """Round-trip a ping to the server: everything sent before it has
        been handled (stored durably, for offline messages) once it
        returns."""
        await self["xep_0199"].ping(DOMAIN, timeout=TIMEOUT)

    async def collect(self, n, timeout=TIMEOUT):
        """Return the next n messages."""
        out = []
        for _ in range(n):
            out.append(await asyncio.wait_for(self.all.get(), timeout))
        return out

    async def nothing_more(self, wait=1.0):
        try:
            got = await asyncio.wait_for(self.all.get(), wait)
        except asyncio.TimeoutError:
            return
        expect(False, "unexpected message: %s" % got)


def check_delay(m, not_before):
    """The message carries exactly one delay from the domain, stamped in
    UTC at or after not_before (and not in the future)."""
    delays = m.xml.findall(DELAY)
    expect(len(delays) == 1, "%s: %d delay elements: %s" % (m["id"], len(delays), m))
    d = delays[0]
    expect(d.get("from") == DOMAIN, "%s: delay from %r, want %s" % (m["id"], d.get("from"), DOMAIN))
    stamp = d.get("stamp", "")
    expect(stamp.endswith("Z"), "%s: stamp %r is not UTC" % (m["id"], stamp))
    t = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    now = datetime.datetime.now(datetime.timezone.utc)
    expect(not_before - datetime.timedelta(seconds=2) <= t <= now + datetime.timedelta(seconds=2),
           "%s: stamp %s not between %s and %s" % (m["id"], stamp, not_before, now))
    return t


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)
