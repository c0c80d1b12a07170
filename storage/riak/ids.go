package riak

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// idLen is the length of every queue item and archive entry ID: 16 hex
// digits of a time in nanoseconds since 1970 with the sign bit flipped (so
// that times before 1970 sort first) and 8 hex digits of randomness that
// keeps IDs made in the same nanosecond on different nodes apart. Being
// fixed-width lower-case hex, IDs compare as strings like their times.
const idLen = 24

// timeLen is the length of the time part of an ID.
const timeLen = 16

func encodeTime(ns int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(ns)^(1<<63))
	return hex.EncodeToString(b[:])
}

func decodeTime(s string) (int64, bool) {
	if len(s) != timeLen {
		return 0, false
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(b[:]) ^ (1 << 63)), true
}

// newID returns an ID for time ns.
func newID(ns int64) string {
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return encodeTime(ns) + hex.EncodeToString(r[:])
}

// idNanos returns the time part of a well-formed ID.
func idNanos(id string) (int64, bool) {
	if !validID(id) {
		return 0, false
	}
	return decodeTime(id[:timeLen])
}

func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// nanos converts t to nanoseconds since 1970, saturating outside the
// years 1678–2262 that an int64 holds.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, -1<<63)):
		return -1 << 63
	case t.After(time.Unix(0, 1<<63-1)):
		return 1<<63 - 1
	}
	return t.UnixNano()
}
