package roster

import (
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xmppd/xmppd/crdt"
)

// Roster versioning (XEP-0237). A version is "<mod>-<hash>": mod is the
// newest modification time (HLC) of any listed item or tombstone, hash a
// CRC-32C of the listed items as stored. Equal versions mean an unchanged
// roster; the mod part lets a client that is behind get only the items
// changed since, including removals (kept as tombstones for a while).
//
// Concurrent writers on other nodes may merge a change stamped slightly
// before a version a client already holds (by at most the time one
// read-merge-write takes to become visible); changes are therefore resent
// from incrementalSlack before the client's mod, which costs a few
// duplicate pushes and loses nothing. An update is sent as pushes while it
// has at most maxIncremental changes or half the roster, whichever is more.
const (
	incrementalSlack = 10 * time.Second
	maxIncremental   = 16
	maxTombstones    = 200
	tombstoneTTL     = 30 * 24 * time.Hour
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// version returns the current version of doc.
func version(doc *crdt.Doc) string {
	var mod crdt.Timestamp
	h := crc32.New(castagnoli)
	for _, key := range doc.Keys() {
		if strings.HasPrefix(key, tombPrefix) {
			if ts := tombMod(doc, key); ts > mod {
				mod = ts
			}
			continue
		}
		it, _ := readItem(doc, key)
		if !it.Listed {
			continue
		}
		mod = max(mod, it.Mod)
		f := it.fields()
		h.Write([]byte(key))
		for _, k := range []string{fName, fGroups, fSub, fAsk, fApproved, fNote} {
			h.Write([]byte{0})
			h.Write(f[k])
		}
		h.Write([]byte{1})
	}
	return fmt.Sprintf("%x-%08x", uint64(mod), h.Sum32())
}

// parseVersion returns the mod part of a version a client sent.
func parseVersion(ver string) (crdt.Timestamp, bool) {
	mod, _, ok := strings.Cut(ver, "-")
	if !ok {
		return 0, false
	}
	ts, err := strconv.ParseUint(mod, 16, 64)
	if err != nil {
		return 0, false
	}
	return crdt.Timestamp(ts), true
}

// intermediateVersion is the version stamped on a push of an incremental
// update before the last one: its mod is right, its hash never matches,
// so a client that stops half-way resumes from there.
func intermediateVersion(mod crdt.Timestamp) string { return fmt.Sprintf("%x-x", uint64(mod)) }

func tombMod(doc *crdt.Doc, key string) crdt.Timestamp {
	v, _ := doc.Field(key, fMod)
	return decodeTS(v)
}

// A change is one item of an incremental update: a listed item, or the
// removal of one (Removed, with only JID and Mod set).
type change struct {
	Item
	Removed bool
}

// changesSince returns the listed items and removals of doc modified after
// since (less the slack), oldest first, and false when doc cannot tell
// (since is older than a pruned tombstone).
func changesSince(doc *crdt.Doc, since crdt.Timestamp) ([]change, bool) {
	horizon, _ := doc.DocField(docHorizon)
	from := since
	if slack := crdt.TimestampAt(time.UnixMilli(0).Add(incrementalSlack)); from > slack {
		from -= slack
	} else {
		from = 0
	}
	if h := decodeTS(horizon); h != 0 && from <= h {
		return nil, false
	}
	var out []change
	for _, key := range doc.Keys() {
		if jid, ok := strings.CutPrefix(key, tombPrefix); ok {
			if ts := tombMod(doc, key); ts > from {
				out = append(out, change{Item: Item{JID: jid, Mod: ts}, Removed: true})
			}
			continue
		}
		if it, _ := readItem(doc, key); it.Listed && it.Mod > from {
			out = append(out, change{Item: it})
		}
	}
	slices.SortFunc(out, func(a, b change) int {
		if a.Mod != b.Mod {
			return cmpTS(a.Mod, b.Mod)
		}
		return strings.Compare(a.JID, b.JID)
	})
	return out, true
}

func cmpTS(a, b crdt.Timestamp) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pruneTombstones drops tombstones older than the TTL, and the oldest
// beyond maxTombstones, raising the document's horizon past them.
func pruneTombstones(doc *crdt.Doc, w *crdt.Writer, now time.Time) {
	keys := doc.KeysWithPrefix(tombPrefix)
	cutoff := crdt.TimestampAt(now.Add(-tombstoneTTL))
	if len(keys) <= maxTombstones {
		old := false
		for _, k := range keys {
			if tombMod(doc, k) < cutoff {
				old = true
				break
			}
		}
		if !old {
			return
		}
	}
	slices.SortFunc(keys, func(a, b string) int { return cmpTS(tombMod(doc, a), tombMod(doc, b)) })
	hv, _ := doc.DocField(docHorizon)
	horizon := decodeTS(hv)
	for i, k := range keys {
		ts := tombMod(doc, k)
		if ts >= cutoff && len(keys)-i <= maxTombstones {
			break
		}
		doc.Remove(w, k)
		horizon = max(horizon, ts)
	}
	doc.SetDoc(w, docHorizon, encodeTS(horizon))
}
