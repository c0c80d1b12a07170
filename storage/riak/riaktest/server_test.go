package riaktest

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"sort"
	"testing"
	"time"

	riakc "github.com/basho/riak-go-client"
)

// client is a riak-go-client cluster on the given nodes, one attempt per
// command so that faults show.
func client(t *testing.T, addrs ...string) *riakc.Cluster {
	t.Helper()
	var nodes []*riakc.Node
	for _, a := range addrs {
		n, err := riakc.NewNode(&riakc.NodeOptions{
			RemoteAddress:  a,
			RequestTimeout: 500 * time.Millisecond,
			ConnectTimeout: 500 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	c, err := riakc.NewCluster(&riakc.ClusterOptions{Nodes: nodes, ExecutionAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

func newTestCluster(t *testing.T, opts Options) (*Cluster, *Node) {
	t.Helper()
	if opts.BucketTypes == nil {
		opts.BucketTypes = map[string]BucketProps{"mult": {AllowMult: true, DVVEnabled: true}}
	}
	c := NewCluster(opts)
	t.Cleanup(func() { c.Close() })
	n, err := c.StartNode()
	if err != nil {
		t.Fatal(err)
	}
	return c, n
}

func mustExec(t *testing.T, c *riakc.Cluster, cmd riakc.Command, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Execute(cmd); err != nil {
		t.Fatalf("%s: %v", cmd.Name(), err)
	}
}

func put(t *testing.T, c *riakc.Cluster, typ, key, value string, vclock []byte) *riakc.StoreValueResponse {
	t.Helper()
	cmd, err := riakc.NewStoreValueCommandBuilder().WithBucketType(typ).WithBucket("b").WithKey(key).
		WithReturnBody(true).WithContent(&riakc.Object{Value: []byte(value), VClock: vclock}).Build()
	mustExec(t, c, cmd, err)
	return cmd.(*riakc.StoreValueCommand).Response
}

func get(t *testing.T, c *riakc.Cluster, typ, key string) *riakc.FetchValueResponse {
	t.Helper()
	cmd, err := riakc.NewFetchValueCommandBuilder().WithBucketType(typ).WithBucket("b").WithKey(key).Build()
	mustExec(t, c, cmd, err)
	return cmd.(*riakc.FetchValueCommand).Response
}

func values(r *riakc.FetchValueResponse) []string {
	var out []string
	for _, o := range r.Values {
		if o.IsTombstone {
			out = append(out, "<tombstone>")
		} else {
			out = append(out, string(o.Value))
		}
	}
	sort.Strings(out)
	return out
}

func TestSiblingsAndVClocks(t *testing.T) {
	_, n := newTestCluster(t, Options{})
	c := client(t, n.Addr())

	if r := get(t, c, "mult", "k"); !r.IsNotFound {
		t.Fatalf("get of a new key: %+v, want not found", r)
	}
	first := put(t, c, "mult", "k", "a", nil)
	put(t, c, "mult", "k", "b", nil) // no vclock: a sibling
	r := get(t, c, "mult", "k")
	if got := values(r); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("after two blind puts: %q, want siblings a, b", got)
	}

	// A put with the vclock of the first write covers only "a".
	put(t, c, "mult", "k", "c", first.VClock)
	if got := values(get(t, c, "mult", "k")); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("after a put with a stale vclock: %q, want b, c", got)
	}

	// A put with the vclock of a read that saw every sibling collapses them.
	r = get(t, c, "mult", "k")
	resp := put(t, c, "mult", "k", "merged", r.VClock)
	if len(resp.Values) != 1 || string(resp.Values[0].Value) != "merged" {
		t.Fatalf("return_body after a covering put: %d values, want just merged", len(resp.Values))
	}
	if got := values(get(t, c, "mult", "k")); !slices.Equal(got, []string{"merged"}) {
		t.Fatalf("after a covering put: %q, want merged", got)
	}

	// Vclocks only grow.
	oldClock, _ := DecodeVClock(first.VClock)
	newClock, err := DecodeVClock(get(t, c, "mult", "k").VClock)
	if err != nil || !newClock.Descends(oldClock) || oldClock.Descends(newClock) {
		t.Errorf("clock %v (err %v) should strictly descend %v", newClock, err, oldClock)
	}
}

func TestLastWriteWinsWithoutAllowMult(t *testing.T) {
	_, n := newTestCluster(t, Options{})
	c := client(t, n.Addr())
	put(t, c, "default", "k", "a", nil)
	put(t, c, "default", "k", "b", nil)
	if got := values(get(t, c, "default", "k")); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("allow_mult=false after two puts: %q, want b", got)
	}
}

func TestIfNoneMatch(t *testing.T) {
	_, n := newTestCluster(t, Options{})
	c := client(t, n.Addr())
	create := func() error {
		cmd, err := riakc.NewStoreValueCommandBuilder().WithBucketType("default").WithBucket("b").WithKey("k").
			WithIfNoneMatch(true).WithContent(&riakc.Object{Value: []byte("v")}).Build()
		if err != nil {
			t.Fatal(err)
		}
		return c.Execute(cmd)
	}
	if err := create(); err != nil {
		t.Fatalf("first create: %v", err)
	}
	err := create()
	var ce riakc.ClientError
	if !errors.As(err, &ce) || !errors.As(ce.InnerError, new(riakc.RiakError)) || ce.InnerError.(riakc.RiakError).Errmsg != "match_found" {
		t.Fatalf("second create: %v, want RiakError match_found", err)
	}
}

func TestTombstones(t *testing.T) {
	c0, n := newTestCluster(t, Options{TombstoneTTL: -1})
	c := client(t, n.Addr())
	w := put(t, c, "mult", "k", "a", nil)
	del, err := riakc.NewDeleteValueCommandBuilder().WithBucketType("mult").WithBucket("b").WithKey("k").WithVClock(w.VClock).Build()
	mustExec(t, c, del, err)
	if r := get(t, c, "mult", "k"); !r.IsNotFound {
		t.Fatalf("get after delete: %q, want not found", values(r))
	}
	cmd, err := riakc.NewFetchValueCommandBuilder().WithBucketType("mult").WithBucket("b").WithKey("k").WithReturnDeletedVClock(true).Build()
	mustExec(t, c, cmd, err)
	if r := cmd.(*riakc.FetchValueCommand).Response; r.IsNotFound || len(r.VClock) == 0 || !r.Values[0].IsTombstone {
		t.Fatalf("deletedvclock get: %+v, want the tombstone's vclock", r)
	}
	// Riak lists tombstones until they are reaped.
	lk, err := riakc.NewListKeysCommandBuilder().WithBucketType("mult").WithBucket("b").Build()
	mustExec(t, c, lk, err)
	if keys := lk.(*riakc.ListKeysCommand).Response.Keys; !slices.Equal(keys, []string{"k"}) {
		t.Errorf("list keys with a tombstone: %q, want [k]", keys)
	}
	// A blind put beside a tombstone it did not see makes a tombstone sibling.
	put(t, c, "mult", "k", "b", w.VClock)
	if got := values(get(t, c, "mult", "k")); !slices.Equal(got, []string{"<tombstone>", "b"}) {
		t.Errorf("put with the pre-delete vclock: %q, want tombstone and b", got)
	}
	// Reaping.
	c0.store.mu.Lock()
	c0.store.tombstoneTTL = 0
	c0.store.mu.Unlock()
	del2, err := riakc.NewDeleteValueCommandBuilder().WithBucketType("mult").WithBucket("b").WithKey("k").Build()
	mustExec(t, c, del2, err)
	lk, err = riakc.NewListKeysCommandBuilder().WithBucketType("mult").WithBucket("b").Build()
	mustExec(t, c, lk, err)
	if keys := lk.(*riakc.ListKeysCommand).Response.Keys; len(keys) != 0 {
		t.Errorf("list keys after reaping: %q, want none", keys)
	}
}

func TestSecondaryIndexPaging(t *testing.T) {
	_, n := newTestCluster(t, Options{})
	c := client(t, n.Addr())
	for i := 0; i < 250; i++ {
		obj := &riakc.Object{Value: []byte("v")}
		obj.AddToIndex("t_bin", string(rune('a'+i%26))+string(rune('a'+i/26)))
		obj.AddToIntIndex("n_int", i)
		cmd, err := riakc.NewStoreValueCommandBuilder().WithBucketType("default").WithBucket("b").
			WithKey(string(rune('A'+i%26)) + string(rune('A'+i/26))).WithContent(obj).Build()
		mustExec(t, c, cmd, err)
	}
	// Integer ranges compare as numbers: 9..11 is three keys, not "9" < "10".
	q, err := riakc.NewSecondaryIndexQueryCommandBuilder().WithBucketType("default").WithBucket("b").
		WithIndexName("n_int").WithIntRange(9, 11).WithReturnKeyAndIndex(true).Build()
	mustExec(t, c, q, err)
	if r := q.(*riakc.SecondaryIndexQueryCommand).Response.Results; len(r) != 3 || string(r[0].IndexKey) != "9" || string(r[2].IndexKey) != "11" {
		t.Fatalf("int range 9..11: %d results, want 9, 10, 11", len(r))
	}
	// Paging over a bin range returns every term once, in order.
	var terms []string
	var cont []byte
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		b := riakc.NewSecondaryIndexQueryCommandBuilder().WithBucketType("default").WithBucket("b").
			WithIndexName("t_bin").WithRange("a", "z\xff").WithReturnKeyAndIndex(true).WithMaxResults(100)
		if cont != nil {
			b = b.WithContinuation(cont)
		}
		cmd, err := b.Build()
		mustExec(t, c, cmd, err)
		resp := cmd.(*riakc.SecondaryIndexQueryCommand).Response
		for _, r := range resp.Results {
			terms = append(terms, string(r.IndexKey))
		}
		if cont = resp.Continuation; cont == nil {
			break
		}
	}
	if len(terms) != 250 || !sort.StringsAreSorted(terms) {
		t.Fatalf("paged scan: %d terms (sorted %v), want 250 sorted", len(terms), sort.StringsAreSorted(terms))
	}
}

func TestFaults(t *testing.T) {
	c0, n1 := newTestCluster(t, Options{})
	n2, err := c0.StartNode()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("down refuses connections, up serves the same data", func(t *testing.T) {
		put(t, client(t, n2.Addr()), "default", "k", "v", nil)
		n1.Down()
		if _, err := net.DialTimeout("tcp", n1.Addr(), time.Second); err == nil {
			t.Fatal("dial to a downed node succeeded")
		}
		if err := n1.Up(); err != nil {
			t.Fatal(err)
		}
		if got := values(get(t, client(t, n1.Addr()), "default", "k")); !slices.Equal(got, []string{"v"}) {
			t.Fatalf("node 1 after up: %q, want the value written through node 2", got)
		}
	})

	t.Run("reset closes the connection without applying", func(t *testing.T) {
		n1.ResetNext(1)
		conn, err := net.Dial("tcp", n1.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.Write([]byte{0, 0, 0, 1, codePingReq})
		conn.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := conn.Read(make([]byte, 8)); err != io.EOF {
			t.Fatalf("read after reset: %v, want EOF", err)
		}
	})

	t.Run("slow node delays answers", func(t *testing.T) {
		n1.SetDelay(700 * time.Millisecond)
		defer n1.SetDelay(0)
		cmd := &riakc.PingCommand{}
		err := client(t, n1.Addr()).Execute(cmd)
		var ne net.Error
		var ce riakc.ClientError
		if !errors.As(err, &ce) || !errors.As(ce.InnerError, &ne) || !ne.Timeout() {
			t.Fatalf("ping on a slow node: %v, want a client timeout", err)
		}
	})

	t.Run("raw framing and unknown codes", func(t *testing.T) {
		conn, err := net.Dial("tcp", n2.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.Write([]byte{0, 0, 0, 1, codePingReq, 0, 0, 0, 1, 200})
		conn.SetReadDeadline(time.Now().Add(time.Second))
		var hdr [5]byte
		if _, err := io.ReadFull(conn, hdr[:]); err != nil || binary.BigEndian.Uint32(hdr[:4]) != 1 || hdr[4] != codePingResp {
			t.Fatalf("ping answer %x, %v; want length 1, code 2", hdr, err)
		}
		if _, err := io.ReadFull(conn, hdr[:]); err != nil || hdr[4] != codeErrorResp {
			t.Fatalf("answer to code 200: %x, %v; want an error response", hdr, err)
		}
	})
}
