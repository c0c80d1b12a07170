package pebble

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/xmppd/xmppd/storage"
)

// Key layout. Every key starts with a one-byte tag naming the shape, then
// the kind, a NUL, the user, and for multi-entry shapes a NUL and a fixed-
// width suffix. storage.Key forbids NUL in kind and user, so the NULs make
// the layout unambiguous: "acc\x00" and "account\x00" never share a prefix,
// List(kind) is a prefix scan, and a user's entries are contiguous.
//
//	'k' kind 0 user               KV value
//	'd' kind 0 user 0 ver[8]      document sibling (ver: big-endian sequence)
//	'q' kind 0 user 0 id[16]      queue item (id: 16 hex digits of a sequence)
//	'Q' kind 0 user               queue meta (item count)
//	'a' kind 0 user 0 id[16]      archive entry (id: 16 hex digits, ≈ ns time)
//	'A' kind 0 user               archive meta (last id, max id-time skew)
//	's' "seq"                     high-water mark of the sequence allocator
const (
	tagKV        = 'k'
	tagDoc       = 'd'
	tagQueue     = 'q'
	tagQueueMeta = 'Q'
	tagArchive   = 'a'
	tagArchMeta  = 'A'
)

var seqKey = []byte("s\x00seq")

// idLen is the length of queue and archive IDs: 16 lower-case hex digits of
// a uint64, so that string order is numeric order.
const idLen = 16

// kindPrefix is tag kind 0: the prefix of every key of that kind.
func kindPrefix(tag byte, kind string) []byte {
	b := make([]byte, 0, 2+len(kind))
	b = append(b, tag)
	b = append(b, kind...)
	return append(b, 0)
}

// userKey is tag kind 0 user: a single-entry key.
func userKey(tag byte, k storage.Key) []byte {
	b := make([]byte, 0, 3+len(k.Kind)+len(k.User)+idLen)
	b = append(b, tag)
	b = append(b, k.Kind...)
	b = append(b, 0)
	return append(b, k.User...)
}

// entryPrefix is tag kind 0 user 0: the prefix of a user's entries.
func entryPrefix(tag byte, k storage.Key) []byte {
	return append(userKey(tag, k), 0)
}

// withSuffix returns prefix+suffix in a new slice.
func withSuffix(prefix []byte, suffix string) []byte {
	b := make([]byte, 0, len(prefix)+len(suffix))
	return append(append(b, prefix...), suffix...)
}

func versionKey(prefix []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(withSuffix(prefix, ""), v)
}

// formatID renders n as a fixed-width ID.
func formatID(n uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return hex.EncodeToString(b[:])
}

// parseID is the inverse of formatID; ok is false for anything formatID
// cannot have produced.
func parseID(id string) (n uint64, ok bool) {
	if len(id) != idLen {
		return 0, false
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], []byte(id)); err != nil || formatID(binary.BigEndian.Uint64(b[:])) != id {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[:]), true
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := withSuffix(p, "")
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}

func validKind(kind string) error {
	return storage.Key{Kind: kind, User: "-"}.Validate()
}

func keyErr(op string, k storage.Key, err error) error {
	return fmt.Errorf("pebble: %s %q/%q: %w", op, k.Kind, k.User, err)
}
