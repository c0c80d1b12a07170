"""Helpers of the roster scenarios: raw roster IQs (slixmpp's own roster
API hides errors and notes), and queues of roster pushes."""
import asyncio
import traceback
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from common import Client, Failed, TIMEOUT, expect

NS = "jabber:iq:roster"
Q = "{%s}" % NS


class RosterClient(Client):
    """A client that leaves subscription decisions to the test and
    records roster pushes."""

    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.auto_authorize = None
        self.auto_subscribe = False
        self.pushes = asyncio.Queue()
        self.register_handler(Callback("roster pushes", StanzaPath("iq@type=set/roster"),
                                       lambda iq: self.pushes.put_nowait(iq)))

    async def iq(self, typ, inner, to=None):
        """Send a roster IQ with the given <query/> XML; return
        (response element, error condition or None)."""
        iq = self.Iq()
        iq["type"] = typ
        if to:
            iq["to"] = to
        iq.append(ET.fromstring(inner))
        try:
            resp = await iq.send(timeout=TIMEOUT)
            return resp.xml, None
        except IqError as e:
            return e.iq.xml, e.iq["error"]["condition"]
        except IqTimeout:
            raise Failed("roster %s timed out: %s" % (typ, inner))

    async def items(self, ver=None):
        """Roster get; returns ({jid: item element}, query element or None)."""
        q = "<query xmlns='%s'%s/>" % (NS, "" if ver is None else " ver='%s'" % ver)
        resp, err = await self.iq("get", q)
        expect(err is None, "roster get failed: %s" % err)
        query = resp.find(Q + "query")
        items = {} if query is None else {i.get("jid"): i for i in query.findall(Q + "item")}
        return items, query

    async def set_item(self, jid, name=None, groups=(), note=None):
        item = ET.Element(Q + "item", {"jid": jid})
        if name is not None:
            item.set("name", name)
        for g in groups:
            ET.SubElement(item, Q + "group").text = g
        if note is not None:
            ET.SubElement(item, Q + "note").text = note
        q = ET.Element(Q + "query")
        q.append(item)
        return await self.iq("set", ET.tostring(q, encoding="unicode"))

    async def next_push(self, timeout=TIMEOUT):
        """The <item/> of the next roster push, and the push's ver."""
        iq = await asyncio.wait_for(self.pushes.get(), timeout)
        q = iq.xml.find(Q + "query")
        return q.find(Q + "item"), q.get("ver")

    async def no_push(self, wait=0.7):
        try:
            iq = await asyncio.wait_for(self.pushes.get(), wait)
        except asyncio.TimeoutError:
            return
        raise Failed("unexpected roster push: %s (line %d)" % (iq, caller_line()))

    async def next_presence(self, match=lambda p: True, timeout=TIMEOUT):
        """The next presence matching match; others are skipped."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise Failed("%s: no matching presence within %ss (line %d)" % (self.boundjid, timeout, caller_line()))
            try:
                p = await asyncio.wait_for(self.presences.get(), left)
            except asyncio.TimeoutError:
                raise Failed("%s: no matching presence within %ss (line %d)" % (self.boundjid, timeout, caller_line()))
            if match(p):
                return p

    async def no_presence(self, match=lambda p: True, wait=0.7):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return
            try:
                p = await asyncio.wait_for(self.presences.get(), left)
            except asyncio.TimeoutError:
                return
            if match(p):
                raise Failed("%s: unexpected presence %s (line %d)" % (self.boundjid, p, caller_line()))

    def drain(self):
        while not self.presences.empty():
            self.presences.get_nowait()
        while not self.pushes.empty():
            self.pushes.get_nowait()


def frm(bare_or_full, typ=None):
    """A presence matcher: from the given JID (bare matches any resource)
    and of the given type (None: available)."""
    def match(p):
        f = str(p["from"])
        same = f == bare_or_full or ("/" not in bare_or_full and f.split("/")[0] == bare_or_full)
        t = p["type"]
        if typ is None:
            return same and t in ("available", "", "chat", "away", "xa", "dnd")
        return same and t == typ
    return match


def caller_line():
    """The line of the scenario that called into this module."""
    for frame in reversed(traceback.extract_stack()):
        if not frame.filename.endswith(("roster_lib.py", "asyncio/tasks.py")) and "asyncio" not in frame.filename:
            return frame.lineno
    return 0
