"""Helpers of the message archive scenarios: raw MAM queries (slixmpp's
plugin hides <fin/>), and the archive id a delivered message carries."""
import asyncio
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from common import Client, Failed, TIMEOUT, expect

MAM = "urn:xmpp:mam:2"
RSM = "http://jabber.org/protocol/rsm"
SID = "urn:xmpp:sid:0"
FWD = "urn:xmpp:forward:0"
DELAY = "urn:xmpp:delay"


class MamClient(Client):
    """A client that keeps MAM result messages apart from other messages."""

    def __init__(self, jid, password, plugins=("xep_0030", "xep_0085", "xep_0313", "xep_0359")):
        super().__init__(jid, password, plugins=plugins)
        self.results = asyncio.Queue()
        self.register_handler(Callback("mam results", MatchXPath("{jabber:client}message/{%s}result" % MAM),
                                       lambda m: self.results.put_nowait(m.xml)))
        self._qid = 0

    async def query(self, form=(), rsm=None, to=None, extra=""):
        """Send a raw query; return (bodies, result elements, fin) or raise
        Failed; an error answer returns (None, None, condition)."""
        self._qid += 1
        qid = "q%d" % self._qid
        x = "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>%s</value></field>" % MAM
        for var, val in form:
            x += "<field var='%s'><value>%s</value></field>" % (var, val)
        x += "</x>"
        inner = x + (("<set xmlns='%s'>%s</set>" % (RSM, rsm)) if rsm is not None else "") + extra
        iq = self.Iq()
        iq["type"] = "set"
        if to:
            iq["to"] = to
        iq.append(ET.fromstring("<query xmlns='%s' queryid='%s'>%s</query>" % (MAM, qid, inner)))
        try:
            resp = await iq.send(timeout=TIMEOUT)
        except IqError as e:
            return None, None, e.iq["error"]["condition"]
        results = []
        while not self.results.empty():
            r = self.results.get_nowait().find("{%s}result" % MAM)
            expect(r.get("queryid") == qid, "result of another query: %s" % r.get("queryid"))
            results.append(r)
        bodies = [r.find("{%s}forwarded/{jabber:client}message/{jabber:client}body" % FWD).text for r in results]
        return bodies, results, resp.xml.find("{%s}fin" % MAM)


def stanza_id(msg, by):
    """The archive ids a received message carries for archive by."""
    return [e.get("id") for e in msg.xml.findall("{%s}stanza-id" % SID) if e.get("by") == by]


def rsm_of(fin):
    s = fin.find("{%s}set" % RSM)
    first = s.find("{%s}first" % RSM)
    return {
        "first": None if first is None else first.text,
        "index": None if first is None else first.get("index"),
        "last": None if s.find("{%s}last" % RSM) is None else s.find("{%s}last" % RSM).text,
        "count": None if s.find("{%s}count" % RSM) is None else s.find("{%s}count" % RSM).text,
        "complete": fin.get("complete") == "true",
    }
