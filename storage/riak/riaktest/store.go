package riaktest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"
	"time"

	rpbkv "github.com/basho/riak-go-client/rpb/riak_kv"
	"github.com/golang/protobuf/proto"
)

// BucketProps are the properties of a bucket type that change how writes
// are resolved.
type BucketProps struct {
	// AllowMult keeps concurrent writes as siblings. When false the last
	// write wins and an object never has more than one sibling.
	AllowMult bool
	// DVVEnabled is reported to clients as dvv_enabled. Sibling resolution
	// always uses dotted version vectors (see the package doc).
	DVVEnabled bool
}

// A riakError is what the server answers with RpbErrorResp.
type riakError struct{ msg string }

func (e *riakError) Error() string { return e.msg }

func errorf(format string, args ...any) *riakError {
	return &riakError{msg: fmt.Sprintf(format, args...)}
}

// A sibling is one concurrent value of an object with the dot of the write
// that made it. A tombstone is a sibling whose content has Deleted set.
type sibling struct {
	dot     Dot
	content *rpbkv.RpbContent
}

func (s sibling) deleted() bool { return s.content.GetDeleted() }

// An object is what is stored under one bucket type, bucket and key.
type object struct {
	clock    VClock
	siblings []sibling
	// deletedAt is when every sibling became a tombstone; zero otherwise.
	deletedAt time.Time
}

func (o *object) allTombstones() bool {
	for _, s := range o.siblings {
		if !s.deleted() {
			return false
		}
	}
	return true
}

type bucketID struct{ typ, bucket string }

// store is the dataset that every node of a Cluster serves. Its methods
// take the decoded request and return the response to encode or a Riak
// error; they are safe for concurrent use.
type store struct {
	mu      sync.Mutex
	types   map[string]BucketProps
	buckets map[bucketID]map[string]*object
	// tombstoneTTL is how long a fully deleted object stays visible to
	// list-keys and to deletedvclock gets; negative keeps it forever.
	tombstoneTTL time.Duration
	now          func() time.Time
}

func newStore(types map[string]BucketProps, tombstoneTTL time.Duration) *store {
	t := map[string]BucketProps{"default": {}}
	for name, p := range types {
		t[name] = p
	}
	return &store{
		types:        t,
		buckets:      make(map[bucketID]map[string]*object),
		tombstoneTTL: tombstoneTTL,
		now:          time.Now,
	}
}

func typeName(t []byte) string {
	if len(t) == 0 {
		return "default"
	}
	return string(t)
}

func (s *store) props(typ string) (BucketProps, *riakError) {
	p, ok := s.types[typ]
	if !ok {
		return p, errorf("Invalid bucket type: %q: no_type (not created or not activated)", typ)
	}
	return p, nil
}

// lookup returns the object, reaping it first if it is a tombstone past
// its time. Callers hold s.mu.
func (s *store) lookup(id bucketID, key string) *object {
	keys := s.buckets[id]
	o := keys[key]
	if o == nil {
		return nil
	}
	if !o.deletedAt.IsZero() && s.tombstoneTTL >= 0 && s.now().Sub(o.deletedAt) >= s.tombstoneTTL {
		delete(keys, key)
		return nil
	}
	return o
}

func (s *store) get(req *rpbkv.RpbGetReq) (*rpbkv.RpbGetResp, *riakError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	typ := typeName(req.Type)
	if _, err := s.props(typ); err != nil {
		return nil, err
	}
	if len(req.Bucket) == 0 || len(req.Key) == 0 {
		return nil, errorf("bucket and key are required")
	}
	o := s.lookup(bucketID{typ, string(req.Bucket)}, string(req.Key))
	if o == nil {
		return &rpbkv.RpbGetResp{}, nil
	}
	clock := o.clock.Encode()
	if o.allTombstones() {
		if req.GetDeletedvclock() {
			return &rpbkv.RpbGetResp{Vclock: clock}, nil
		}
		return &rpbkv.RpbGetResp{}, nil
	}
	if req.IfModified != nil && bytes.Equal(req.IfModified, clock) {
		return &rpbkv.RpbGetResp{Unchanged: proto.Bool(true), Vclock: clock}, nil
	}
	return &rpbkv.RpbGetResp{Content: o.contents(req.GetHead()), Vclock: clock}, nil
}

// contents returns copies of the siblings' contents, without values when
// head is set.
func (o *object) contents(head bool) []*rpbkv.RpbContent {
	out := make([]*rpbkv.RpbContent, len(o.siblings))
	for i, sib := range o.siblings {
		c := proto.Clone(sib.content).(*rpbkv.RpbContent)
		if head {
			c.Value = []byte{}
		}
		out[i] = c
	}
	return out
}

// put applies a write coordinated by actor. The context clock decides
// which siblings the write replaces: with allow_mult those whose dot it
// covers, without allow_mult all of them.
func (s *store) put(actor string, req *rpbkv.RpbPutReq) (*rpbkv.RpbPutResp, *riakError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	typ := typeName(req.Type)
	props, rerr := s.props(typ)
	if rerr != nil {
		return nil, rerr
	}
	if len(req.Bucket) == 0 {
		return nil, errorf("bucket is required")
	}
	if req.Content == nil {
		return nil, errorf("content is required")
	}
	ctx, err := DecodeVClock(req.Vclock)
	if err != nil {
		return nil, errorf("invalid vclock: %v", err)
	}
	id := bucketID{typ, string(req.Bucket)}
	key := string(req.Key)
	generated := false
	if key == "" {
		key = randomKey()
		generated = true
	}
	o := s.lookup(id, key)
	if req.GetIfNoneMatch() && o != nil && !o.allTombstones() {
		return nil, errorf("match_found")
	}
	if req.GetIfNotModified() {
		if o == nil || o.allTombstones() {
			return nil, errorf("notfound")
		}
		if !bytes.Equal(req.Vclock, o.clock.Encode()) {
			return nil, errorf("modified")
		}
	}
	content := proto.Clone(req.Content).(*rpbkv.RpbContent)
	content.Deleted = nil
	o = s.apply(id, key, o, actor, ctx, content, props)
	resp := &rpbkv.RpbPutResp{}
	if generated {
		resp.Key = []byte(key)
	}
	if req.GetReturnBody() || req.GetReturnHead() {
		resp.Content = o.contents(req.GetReturnHead() && !req.GetReturnBody())
		resp.Vclock = o.clock.Encode()
	}
	return resp, nil
}

// apply records a write (a value or a tombstone) and returns the object.
// Callers hold s.mu.
func (s *store) apply(id bucketID, key string, o *object, actor string, ctx VClock, content *rpbkv.RpbContent, props BucketProps) *object {
	now := s.now()
	if o == nil {
		o = &object{clock: VClock{}}
		if s.buckets[id] == nil {
			s.buckets[id] = make(map[string]*object)
		}
		s.buckets[id][key] = o
	}
	var keep []sibling
	if props.AllowMult {
		for _, sib := range o.siblings {
			if !ctx.Covers(sib.dot) {
				keep = append(keep, sib)
			}
		}
	}
	clock := o.clock.Merge(ctx)
	clock[actor]++
	content.Vtag = []byte(randomKey()[:12])
	content.LastMod = proto.Uint32(uint32(now.Unix()))
	content.LastModUsecs = proto.Uint32(uint32(now.Nanosecond() / 1000))
	if content.Value == nil {
		content.Value = []byte{}
	}
	o.clock = clock
	o.siblings = append(keep, sibling{dot: Dot{Actor: actor, Counter: clock[actor]}, content: content})
	if o.allTombstones() {
		o.deletedAt = now
	} else {
		o.deletedAt = time.Time{}
	}
	return o
}

// del writes a tombstone. Without a vclock it covers everything stored, as
// Riak's delete does after reading the object itself.
func (s *store) del(actor string, req *rpbkv.RpbDelReq) *riakError {
	s.mu.Lock()
	defer s.mu.Unlock()
	typ := typeName(req.Type)
	props, rerr := s.props(typ)
	if rerr != nil {
		return rerr
	}
	if len(req.Bucket) == 0 || len(req.Key) == 0 {
		return errorf("bucket and key are required")
	}
	ctx, err := DecodeVClock(req.Vclock)
	if err != nil {
		return errorf("invalid vclock: %v", err)
	}
	id := bucketID{typ, string(req.Bucket)}
	o := s.lookup(id, string(req.Key))
	if o == nil {
		return nil
	}
	if len(req.Vclock) == 0 {
		ctx = o.clock
	}
	tomb := &rpbkv.RpbContent{Value: []byte{}, Deleted: proto.Bool(true)}
	s.apply(id, string(req.Key), o, actor, ctx, tomb, props)
	return nil
}

// listKeys returns the keys of a bucket, sorted, including objects that are
// tombstones not yet reaped (as Riak's list-keys does).
func (s *store) listKeys(req *rpbkv.RpbListKeysReq) ([][]byte, *riakError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	typ := typeName(req.Type)
	if _, err := s.props(typ); err != nil {
		return nil, err
	}
	id := bucketID{typ, string(req.Bucket)}
	var keys []string
	for k := range s.buckets[id] {
		if s.lookup(id, k) != nil {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = []byte(k)
	}
	return out, nil
}

func randomKey() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}
