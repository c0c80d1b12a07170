package riaktest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	rpbriak "github.com/basho/riak-go-client/rpb/riak"
	rpbkv "github.com/basho/riak-go-client/rpb/riak_kv"
	"github.com/golang/protobuf/proto"
)

// Message codes of the Riak PBC protocol that the server speaks.
const (
	codeErrorResp         = 0
	codePingReq           = 1
	codePingResp          = 2
	codeGetServerInfoReq  = 7
	codeGetServerInfoResp = 8
	codeGetReq            = 9
	codeGetResp           = 10
	codePutReq            = 11
	codePutResp           = 12
	codeDelReq            = 13
	codeDelResp           = 14
	codeListBucketsReq    = 15
	codeListBucketsResp   = 16
	codeListKeysReq       = 17
	codeListKeysResp      = 18
	codeGetBucketReq      = 19
	codeGetBucketResp     = 20
	codeIndexReq          = 25
	codeIndexResp         = 26
	codeGetBucketTypeReq  = 31
)

// maxFrame bounds one request frame; Riak's own limit is of the same
// order (its default object size limit is 50 MiB).
const maxFrame = 64 << 20

// listChunk is how many keys one streamed list-keys or 2i message holds.
const listChunk = 100

// Options configure a Cluster. The zero value has only the "default"
// bucket type (allow_mult = false).
type Options struct {
	// BucketTypes are the created and activated bucket types besides
	// "default".
	BucketTypes map[string]BucketProps
	// TombstoneTTL is how long a deleted object stays as a tombstone
	// (seen by list-keys and deletedvclock gets) before it is reaped, like
	// Riak's delete_mode. Zero means Riak's default of 3s; negative keeps
	// tombstones forever (delete_mode = keep).
	TombstoneTTL time.Duration
}

// A Cluster is a set of nodes that serve one dataset, as the nodes of a
// Riak cluster do when every write reaches every replica at once.
type Cluster struct {
	store *store

	mu     sync.Mutex
	nodes  []*Node
	closed bool
}

// NewCluster returns a cluster with no nodes; add them with StartNode.
func NewCluster(opts Options) *Cluster {
	ttl := opts.TombstoneTTL
	if ttl == 0 {
		ttl = 3 * time.Second
	}
	return &Cluster{store: newStore(opts.BucketTypes, ttl)}
}

// StartNode starts a node listening on 127.0.0.1 on a free port.
func (c *Cluster) StartNode() (*Node, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errors.New("riaktest: cluster closed")
	}
	n := &Node{
		name:  fmt.Sprintf("riaktest%d@127.0.0.1", len(c.nodes)+1),
		store: c.store,
		conns: make(map[net.Conn]struct{}),
		quit:  make(chan struct{}),
	}
	if err := n.listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	c.nodes = append(c.nodes, n)
	return n, nil
}

// Nodes returns the nodes in the order they were started.
func (c *Cluster) Nodes() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Node(nil), c.nodes...)
}

// Addrs returns the host:port of every node.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, n := range c.Nodes() {
		out = append(out, n.Addr())
	}
	return out
}

// Close stops every node and waits for their goroutines.
func (c *Cluster) Close() error {
	c.mu.Lock()
	c.closed = true
	nodes := c.nodes
	c.mu.Unlock()
	for _, n := range nodes {
		n.Close()
	}
	return nil
}

// A Node is one listener of a Cluster with its own faults. Its methods are
// safe for concurrent use.
type Node struct {
	name  string
	store *store
	addr  string

	mu        sync.Mutex
	ln        net.Listener
	conns     map[net.Conn]struct{}
	delay     time.Duration
	resetNext int
	closed    bool

	quit     chan struct{} // closed by Close: ends delays early
	wg       sync.WaitGroup
	requests atomic.Int64
}

// Name is the node's Riak node name; it is also its vclock actor.
func (n *Node) Name() string { return n.name }

// Addr is the host:port the node listens on (kept while it is down).
func (n *Node) Addr() string { return n.addr }

// Requests counts the requests the node has read, faulted or not.
func (n *Node) Requests() int64 { return n.requests.Load() }

func (n *Node) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("riaktest: listen: %w", err)
	}
	n.ln = ln
	n.addr = ln.Addr().String()
	n.wg.Add(1)
	go n.accept(ln)
	return nil
}

// Down takes the node off the network: its listener closes (new
// connections are refused) and open connections are closed.
func (n *Node) Down() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dropLocked()
}

func (n *Node) dropLocked() {
	if n.ln != nil {
		n.ln.Close()
		n.ln = nil
	}
	for c := range n.conns {
		c.Close()
	}
}

// Up brings a downed node back on the same address.
func (n *Node) Up() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errors.New("riaktest: node closed")
	}
	if n.ln != nil {
		return nil
	}
	return n.listen(n.addr)
}

// SetDelay makes the node wait d before answering each request (zero: no
// delay). The request is applied after the wait, so a client that timed
// out may still see its write take effect, as with a slow Riak node.
func (n *Node) SetDelay(d time.Duration) {
	n.mu.Lock()
	n.delay = d
	n.mu.Unlock()
}

// ResetNext makes the node close the connection of each of the next k
// requests it reads, without applying or answering them.
func (n *Node) ResetNext(k int) {
	n.mu.Lock()
	n.resetNext = k
	n.mu.Unlock()
}

// Close stops the node for good and waits for its goroutines.
func (n *Node) Close() {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.quit)
	}
	n.dropLocked()
	n.mu.Unlock()
	n.wg.Wait()
}

func (n *Node) accept(ln net.Listener) {
	defer n.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		n.mu.Lock()
		if n.ln != ln {
			n.mu.Unlock()
			c.Close()
			return
		}
		n.conns[c] = struct{}{}
		n.wg.Add(1)
		n.mu.Unlock()
		go n.serve(c)
	}
}

// fault returns what to do with a request just read.
func (n *Node) fault() (delay time.Duration, reset bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.resetNext > 0 {
		n.resetNext--
		return 0, true
	}
	return n.delay, false
}

func (n *Node) serve(c net.Conn) {
	defer n.wg.Done()
	defer func() {
		n.mu.Lock()
		delete(n.conns, c)
		n.mu.Unlock()
		c.Close()
	}()
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		size := binary.BigEndian.Uint32(hdr[:])
		if size == 0 || size > maxFrame {
			return
		}
		frame := make([]byte, size)
		if _, err := io.ReadFull(c, frame); err != nil {
			return
		}
		n.requests.Add(1)
		delay, reset := n.fault()
		if reset {
			return
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-n.quit:
				t.Stop()
				return
			}
		}
		out, err := n.handle(frame[0], frame[1:])
		if err != nil {
			return
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// frames accumulates response messages.
type frames []byte

func (f *frames) add(code byte, msg proto.Message) error {
	var body []byte
	if msg != nil {
		var err error
		if body, err = proto.Marshal(msg); err != nil {
			return fmt.Errorf("riaktest: encode response %d: %w", code, err)
		}
	}
	*f = binary.BigEndian.AppendUint32(*f, uint32(len(body)+1))
	*f = append(*f, code)
	*f = append(*f, body...)
	return nil
}

func errorFrame(msg string) []byte {
	var f frames
	if err := f.add(codeErrorResp, &rpbriak.RpbErrorResp{Errmsg: []byte(msg), Errcode: proto.Uint32(0)}); err != nil {
		panic(err) // a two-field message always encodes
	}
	return f
}

// handle answers one request; an error means the connection must close.
func (n *Node) handle(code byte, body []byte) ([]byte, error) {
	var f frames
	decode := func(m proto.Message) bool { return proto.Unmarshal(body, m) == nil }
	var rerr *riakError
	switch code {
	case codePingReq:
		return f, f.add(codePingResp, nil)
	case codeGetServerInfoReq:
		return f, f.add(codeGetServerInfoResp, &rpbriak.RpbGetServerInfoResp{
			Node: []byte(n.name), ServerVersion: []byte("riaktest"),
		})
	case codeGetReq:
		req := &rpbkv.RpbGetReq{}
		if !decode(req) {
			break
		}
		var resp *rpbkv.RpbGetResp
		if resp, rerr = n.store.get(req); rerr == nil {
			return f, f.add(codeGetResp, resp)
		}
	case codePutReq:
		req := &rpbkv.RpbPutReq{}
		if !decode(req) {
			break
		}
		var resp *rpbkv.RpbPutResp
		if resp, rerr = n.store.put(n.name, req); rerr == nil {
			return f, f.add(codePutResp, resp)
		}
	case codeDelReq:
		req := &rpbkv.RpbDelReq{}
		if !decode(req) {
			break
		}
		if rerr = n.store.del(n.name, req); rerr == nil {
			return f, f.add(codeDelResp, nil)
		}
	case codeListBucketsReq:
		req := &rpbkv.RpbListBucketsReq{}
		if !decode(req) {
			break
		}
		var buckets [][]byte
		if buckets, rerr = n.store.listBuckets(typeName(req.Type)); rerr == nil {
			if !req.GetStream() {
				return f, f.add(codeListBucketsResp, &rpbkv.RpbListBucketsResp{Buckets: buckets, Done: proto.Bool(true)})
			}
			return f, streamKeys(&f, buckets, func(chunk [][]byte, done bool) (byte, proto.Message) {
				return codeListBucketsResp, &rpbkv.RpbListBucketsResp{Buckets: chunk, Done: doneFlag(done)}
			})
		}
	case codeListKeysReq:
		req := &rpbkv.RpbListKeysReq{}
		if !decode(req) {
			break
		}
		var keys [][]byte
		if keys, rerr = n.store.listKeys(req); rerr == nil {
			return f, streamKeys(&f, keys, func(chunk [][]byte, done bool) (byte, proto.Message) {
				return codeListKeysResp, &rpbkv.RpbListKeysResp{Keys: chunk, Done: doneFlag(done)}
			})
		}
	case codeIndexReq:
		req := &rpbkv.RpbIndexReq{}
		if !decode(req) {
			break
		}
		var page *indexPage
		if page, rerr = n.store.index(req); rerr == nil {
			return f, writeIndex(&f, page, req.GetStream())
		}
	case codeGetBucketReq:
		req := &rpbriak.RpbGetBucketReq{}
		if !decode(req) {
			break
		}
		var props *rpbriak.RpbBucketProps
		if props, rerr = n.store.bucketProps(typeName(req.Type)); rerr == nil {
			return f, f.add(codeGetBucketResp, &rpbriak.RpbGetBucketResp{Props: props})
		}
	case codeGetBucketTypeReq:
		req := &rpbriak.RpbGetBucketTypeReq{}
		if !decode(req) {
			break
		}
		var props *rpbriak.RpbBucketProps
		if props, rerr = n.store.bucketProps(typeName(req.Type)); rerr == nil {
			return f, f.add(codeGetBucketResp, &rpbriak.RpbGetBucketResp{Props: props})
		}
	default:
		return errorFrame(fmt.Sprintf("Unknown message code: %d", code)), nil
	}
	if rerr != nil {
		return errorFrame(rerr.msg), nil
	}
	return errorFrame(fmt.Sprintf("invalid message body for code %d", code)), nil
}

func doneFlag(done bool) *bool {
	if done {
		return proto.Bool(true)
	}
	return nil
}

// streamKeys sends keys in chunks, the last message carrying done.
func streamKeys(f *frames, keys [][]byte, msg func(chunk [][]byte, done bool) (byte, proto.Message)) error {
	for len(keys) > listChunk {
		if err := f.add(msg(keys[:listChunk], false)); err != nil {
			return err
		}
		keys = keys[listChunk:]
	}
	return f.add(msg(keys, true))
}

func writeIndex(f *frames, page *indexPage, stream bool) error {
	build := func(hits []indexHit) *rpbkv.RpbIndexResp {
		resp := &rpbkv.RpbIndexResp{}
		for _, h := range hits {
			if page.returnTerms {
				resp.Results = append(resp.Results, &rpbriak.RpbPair{Key: h.term, Value: h.key})
			} else {
				resp.Keys = append(resp.Keys, h.key)
			}
		}
		return resp
	}
	if !stream {
		resp := build(page.hits)
		resp.Continuation = page.continuation
		return f.add(codeIndexResp, resp)
	}
	hits := page.hits
	for len(hits) > listChunk {
		if err := f.add(codeIndexResp, build(hits[:listChunk])); err != nil {
			return err
		}
		hits = hits[listChunk:]
	}
	resp := build(hits)
	resp.Continuation = page.continuation
	resp.Done = proto.Bool(true)
	return f.add(codeIndexResp, resp)
}

// listBuckets returns the buckets of a type that hold at least one object.
func (s *store) listBuckets(typ string) ([][]byte, *riakError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.props(typ); err != nil {
		return nil, err
	}
	var names []string
	for id, keys := range s.buckets {
		if id.typ != typ {
			continue
		}
		for k := range keys {
			if s.lookup(id, k) != nil {
				names = append(names, id.bucket)
				break
			}
		}
	}
	sort.Strings(names)
	out := make([][]byte, len(names))
	for i, b := range names {
		out[i] = []byte(b)
	}
	return out, nil
}

// bucketProps reports a bucket type's properties as Riak does.
func (s *store) bucketProps(typ string) (*rpbriak.RpbBucketProps, *riakError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.props(typ)
	if err != nil {
		return nil, err
	}
	return &rpbriak.RpbBucketProps{
		NVal:          proto.Uint32(3),
		AllowMult:     proto.Bool(p.AllowMult),
		LastWriteWins: proto.Bool(false),
		Backend:       []byte("riaktest_memory"),
	}, nil
}
