"""Helpers of the MUC scenarios (XEP-0045): a client with slixmpp's
xep_0045 plugin that also records every stanza it receives, in order, as
raw XML, so that scenarios can check the presence order and status codes
exactly."""
import asyncio
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError, IqTimeout, PresenceError

from common import DOMAIN, TIMEOUT, Client, Failed, expect, jid

MUC = "http://jabber.org/protocol/muc"
USER = "{http://jabber.org/protocol/muc#user}"
CLIENT = "{jabber:client}"
DELAY = "{urn:xmpp:delay}"
SERVICE = "conference." + DOMAIN


def room(name):
    return "%s@%s" % (name, SERVICE)


def codes(el):
    """The muc#user status codes of a stanza, as a set of ints."""
    x = el.find(USER + "x")
    if x is None:
        return set()
    return {int(s.get("code")) for s in x.findall(USER + "status")}


def item(el):
    """The muc#user <item/> of a stanza, or an empty element."""
    x = el.find(USER + "x")
    it = None if x is None else x.find(USER + "item")
    return it if it is not None else ET.Element("item")


def kind(el):
    return el.tag.split("}")[-1]


def err_condition(el):
    e = el.find(CLIENT + "error")
    if e is None:
        return None
    for c in e:
        if c.tag.endswith("}text"):
            continue
        return c.tag.split("}")[-1]
    return None


class MucClient(Client):
    def __init__(self, local, resource="r"):
        super().__init__(jid(local, resource), local + "-pw",
                         plugins=("xep_0030", "xep_0004", "xep_0045", "xep_0199", "xep_0203"))
        self.inbox = asyncio.Queue()
        self.add_filter("in", self._record)

    def _record(self, st):
        if st.xml.tag in (CLIENT + "message", CLIENT + "presence", CLIENT + "iq"):
            self.inbox.put_nowait(st.xml)
        return st

    @property
    def muc(self):
        return self.plugin["xep_0045"]

    def drain(self):
        while not self.inbox.empty():
            self.inbox.get_nowait()

    async def next(self, match=lambda el: True, what="stanza", timeout=TIMEOUT, skip=True):
        """The next received stanza for which match is true; others are
        skipped (or, with skip=False, fail the check)."""
        async def wait():
            while True:
                el = await self.inbox.get()
                if match(el):
                    return el
                if not skip:
                    raise Failed("%s: expected %s, got %s" % (self.boundjid, what, ET.tostring(el, encoding="unicode")))
        try:
            return await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            raise Failed("%s: no %s within %ss" % (self.boundjid, what, timeout))

    async def nothing(self, match=lambda el: True, wait=0.7, what="stanza"):
        """Expect no matching stanza within wait seconds."""
        try:
            el = await self.next(match, what, timeout=wait)
        except Failed:
            return
        raise Failed("%s: unexpected %s: %s" % (self.boundjid, what, ET.tostring(el, encoding="unicode")))

    async def join(self, rm, nick, **kw):
        """Join with slixmpp and return (self-presence, subject, occupants,
        history)."""
        return await self.muc.join_muc_wait(rm, nick, timeout=TIMEOUT, **kw)

    async def join_error(self, rm, nick, **kw):
        """Join and expect a presence error; return its condition."""
        try:
            await self.muc.join_muc_wait(rm, nick, timeout=TIMEOUT, **kw)
        except PresenceError as e:
            return e.presence["error"]["condition"]
        raise Failed("%s joined %s as %s; expected an error" % (self.boundjid, rm, nick))

    async def instant(self, rm):
        """Accept the default configuration (instant room, §10.1.2)."""
        form = self.plugin["xep_0004"].make_form(ftype="submit")
        await self.muc.set_room_config(rm, form, timeout=TIMEOUT)

    async def raw_iq(self, typ, to, inner):
        """Send an IQ with raw payload; return (response element, error
        condition or None)."""
        iq = self.Iq()
        iq["type"] = typ
        iq["to"] = to
        iq.append(ET.fromstring(inner))
        try:
            resp = await iq.send(timeout=TIMEOUT)
            return resp.xml, None
        except IqError as e:
            return e.iq.xml, e.iq["error"]["condition"]
        except IqTimeout:
            raise Failed("IQ to %s timed out: %s" % (to, inner))

    def send_raw_xml(self, xml):
        self.send_raw(xml)

    async def iq_condition(self, coro):
        """Await a plugin call and return the error condition (None on
        success)."""
        try:
            await coro
        except IqError as e:
            return e.iq["error"]["condition"]
        return None


async def connect(*users):
    return [await MucClient(u).start() for u in users]


def is_presence(frm=None, typ=None):
    def match(el):
        if kind(el) != "presence":
            return False
        if frm is not None and el.get("from") != frm:
            return False
        if typ is not None and (el.get("type") or "available") != typ:
            return False
        return True
    return match


def is_message(frm=None, typ=None):
    def match(el):
        if kind(el) != "message":
            return False
        if frm is not None and el.get("from") != frm:
            return False
        if typ is not None and (el.get("type") or "normal") != typ:
            return False
        return True
    return match


def body(el):
    return el.findtext(CLIENT + "body")


async def configure(c, rm, **values):
    """Fetch the room's configuration form with slixmpp, set the given
    muc#roomconfig_<name> fields and submit it; return the error
    condition or None."""
    form = await c.muc.get_room_config(rm, timeout=TIMEOUT)
    for k, v in values.items():
        form.get_fields()["muc#roomconfig_" + k]["value"] = v
    try:
        await c.muc.set_room_config(rm, form, timeout=TIMEOUT)
    except IqError as e:
        return e.iq["error"]["condition"]
    return None


def is_error(el):
    return el.get("type") == "error"
