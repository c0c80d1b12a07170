"""Helpers for the privacy list scenarios (XEP-0016 is not in slixmpp:
raw IQs with ElementTree payloads)."""
import asyncio
import xml.etree.ElementTree as ET

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from common import TIMEOUT, Client, expect, iq_error

NS = "jabber:iq:privacy"
P = "{%s}" % NS


def item(order, action="deny", typ="jid", value=None, kinds=()):
    el = ET.Element(P + "item", {"action": action, "order": str(order)})
    if typ:
        el.set("type", typ)
    if value is not None:
        el.set("value", value)
    for k in kinds:
        ET.SubElement(el, P + k)
    return el


def elem(name, list_name=None, *children):
    el = ET.Element(P + name)
    if list_name is not None:
        el.set("name", list_name)
    for c in children:
        el.append(c)
    return el


class PrivacyClient(Client):
    """A client that answers and records privacy list pushes."""

    def __init__(self, jid, password, plugins=("xep_0030", "xep_0199")):
        super().__init__(jid, password, plugins)
        self.pushes = asyncio.Queue()
        self.register_handler(Callback("privacy push", MatchXPath("{jabber:client}iq/%squery" % P), self._push))

    def _push(self, iq):
        if iq["type"] != "set":
            return
        lst = iq.xml.find(P + "query/" + P + "list")
        self.pushes.put_nowait(lst.get("name") if lst is not None else None)
        iq.reply().send()

    def query(self, typ, *children):
        iq = self.make_iq_set() if typ == "set" else self.make_iq_get()
        q = ET.Element(P + "query")
        for c in children:
            q.append(c)
        iq.xml.append(q)
        return iq

    async def ok(self, typ, *children):
        res = await self.query(typ, *children).send(timeout=TIMEOUT)
        return res.xml.find(P + "query")

    async def err(self, typ, *children):
        return await iq_error(self.query(typ, *children))

    async def next_push(self, timeout=TIMEOUT):
        return await asyncio.wait_for(self.pushes.get(), timeout)

    def drain(self):
        for q in (self.messages, self.presences, self.pushes, self.message_errors):
            while not q.empty():
                q.get_nowait()


async def no_presence_from(c, who, wait=0.7):
    """Expect no presence from the bare JID who within wait seconds."""
    try:
        p = await c.next_presence(lambda p: p["from"].bare == who, wait)
    except asyncio.TimeoutError:
        return
    expect(False, "unexpected presence from %s: %s" % (who, p))
