package riaktest

import (
	"bytes"
	"encoding/binary"
	"regexp"
	"sort"
	"strconv"
	"strings"

	rpbkv "github.com/basho/riak-go-client/rpb/riak_kv"
)

// An indexHit is one (term, object key) pair of a secondary-index query.
type indexHit struct{ term, key []byte }

// indexPage is one answer to a 2i query: hits in (term, key) order and
// the continuation for the next page, nil on the last.
type indexPage struct {
	hits         []indexHit
	continuation []byte
	returnTerms  bool
}

// index runs a secondary-index query as Riak does with the leveldb or
// memory backend: equality or inclusive range over a _bin (bytewise) or
// _int (numeric) index, or the special $key and $bucket indexes; results
// sorted by term then key, max_results pages with an opaque continuation.
// Tombstones are not indexed.
func (s *store) index(req *rpbkv.RpbIndexReq) (*indexPage, *riakError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	typ := typeName(req.Type)
	if _, err := s.props(typ); err != nil {
		return nil, err
	}
	name := string(req.Index)
	isInt := strings.HasSuffix(name, "_int")
	special := name == "$key" || name == "$bucket"
	if !special && !isInt && !strings.HasSuffix(name, "_bin") {
		return nil, errorf("{invalid_field_name, %q}", name)
	}
	eq := req.GetQtype() == rpbkv.RpbIndexReq_eq
	var re *regexp.Regexp
	if len(req.TermRegex) > 0 {
		var err error
		if re, err = regexp.Compile(string(req.TermRegex)); err != nil {
			return nil, errorf("invalid term_regex: %v", err)
		}
	}
	match := func(term []byte) bool {
		if re != nil && !re.Match(term) {
			return false
		}
		if eq {
			return compareTerms(term, req.Key, isInt) == 0
		}
		return compareTerms(term, req.RangeMin, isInt) >= 0 && compareTerms(term, req.RangeMax, isInt) <= 0
	}

	id := bucketID{typ, string(req.Bucket)}
	var hits []indexHit
	for k := range s.buckets[id] {
		o := s.lookup(id, k)
		if o == nil {
			continue
		}
		for _, term := range o.terms(name, id.bucket, k) {
			if match(term) {
				hits = append(hits, indexHit{term: term, key: []byte(k)})
			}
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if c := compareTerms(hits[i].term, hits[j].term, isInt); c != 0 {
			return c < 0
		}
		return bytes.Compare(hits[i].key, hits[j].key) < 0
	})
	if len(req.Continuation) > 0 {
		after, ok := decodeContinuation(req.Continuation)
		if !ok {
			return nil, errorf("invalid continuation")
		}
		i := sort.Search(len(hits), func(i int) bool {
			c := compareTerms(hits[i].term, after.term, isInt)
			return c > 0 || c == 0 && bytes.Compare(hits[i].key, after.key) > 0
		})
		hits = hits[i:]
	}
	page := &indexPage{hits: hits, returnTerms: req.GetReturnTerms() && !eq}
	if max := int(req.GetMaxResults()); max > 0 && len(hits) > max {
		page.hits = hits[:max]
		page.continuation = encodeContinuation(hits[max-1])
	}
	return page, nil
}

// terms returns the object's terms in index name: the union over its live
// siblings.
func (o *object) terms(name, bucket, key string) [][]byte {
	if o.allTombstones() {
		return nil
	}
	switch name {
	case "$key":
		return [][]byte{[]byte(key)}
	case "$bucket":
		return [][]byte{[]byte(bucket)}
	}
	seen := map[string]bool{}
	var out [][]byte
	for _, sib := range o.siblings {
		if sib.deleted() {
			continue
		}
		for _, p := range sib.content.Indexes {
			if string(p.Key) == name && !seen[string(p.Value)] {
				seen[string(p.Value)] = true
				out = append(out, p.Value)
			}
		}
	}
	return out
}

// compareTerms orders index terms: numerically for _int indexes (terms
// that do not parse sort first, bytewise), bytewise otherwise.
func compareTerms(a, b []byte, isInt bool) int {
	if isInt {
		x, errA := strconv.ParseInt(string(a), 10, 64)
		y, errB := strconv.ParseInt(string(b), 10, 64)
		switch {
		case errA == nil && errB == nil:
			if x < y {
				return -1
			} else if x > y {
				return 1
			}
			return 0
		case errA != nil && errB == nil:
			return -1
		case errA == nil && errB != nil:
			return 1
		}
	}
	return bytes.Compare(a, b)
}

// A continuation is opaque to clients: the last hit returned.
func encodeContinuation(h indexHit) []byte {
	buf := []byte{'c'}
	buf = binary.AppendUvarint(buf, uint64(len(h.term)))
	buf = append(buf, h.term...)
	return append(buf, h.key...)
}

func decodeContinuation(b []byte) (indexHit, bool) {
	if len(b) < 2 || b[0] != 'c' {
		return indexHit{}, false
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || n > uint64(len(b)-1-k) {
		return indexHit{}, false
	}
	rest := b[1+k:]
	return indexHit{term: rest[:n], key: rest[n:]}, true
}
