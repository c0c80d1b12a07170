package riak

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppd/xmppd/storage"
	"github.com/xmppd/xmppd/storage/riak/riaktest"
)

// A set document for the concurrency tests: sorted lines, merged by union.
func decodeSet(b []byte) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" {
			out[l] = true
		}
	}
	return out
}

func encodeSet(s map[string]bool) []byte {
	var lines []string
	for l := range s {
		lines = append(lines, l)
	}
	slices.Sort(lines)
	return []byte(strings.Join(lines, "\n"))
}

// addToSet is one read-merge-write cycle: union of the siblings plus elem,
// written with the read's context. It returns how many siblings it merged.
func addToSet(ctx context.Context, d storage.Documents, k storage.Key, elem string) (int, error) {
	doc, err := d.Get(ctx, k)
	if err != nil {
		return 0, err
	}
	set := map[string]bool{elem: true}
	for _, s := range doc.Siblings {
		for e := range decodeSet(s) {
			set[e] = true
		}
	}
	return len(doc.Siblings), d.Put(ctx, k, doc.Context, encodeSet(set))
}

// TestTwoClientsOneDocument has two backends, each talking to its own node,
// update one document concurrently; merging siblings as a set union must
// keep every update.
func TestTwoClientsOneDocument(t *testing.T) {
	c := startCluster(t, 2)
	addrs := c.Addrs()
	b1 := open(t, testConfig(addrs[:1]))
	defer b1.Close()
	b2 := open(t, testConfig(addrs[1:]))
	defer b2.Close()
	ctx := context.Background()
	k := storage.Key{Kind: "roster", User: "juliet@example.com"}

	// Deterministic interleaving: both read the same state, both write.
	d1, err := b1.Documents().Get(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := b2.Documents().Get(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if err := b1.Documents().Put(ctx, k, d1.Context, encodeSet(map[string]bool{"x1": true})); err != nil {
		t.Fatal(err)
	}
	if err := b2.Documents().Put(ctx, k, d2.Context, encodeSet(map[string]bool{"x2": true})); err != nil {
		t.Fatal(err)
	}
	doc, err := b1.Documents().Get(ctx, k)
	if err != nil || len(doc.Siblings) != 2 {
		t.Fatalf("after two writes from the same context: %q, %v; want 2 siblings", doc.Siblings, err)
	}

	// Free-running writers.
	const each = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	maxSibs := make([]int, 2)
	for i, b := range []*Backend{b1, b2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				n, err := addToSet(ctx, b.Documents(), k, fmt.Sprintf("c%d-%02d", i, j))
				if err != nil {
					errs <- err
					return
				}
				maxSibs[i] = max(maxSibs[i], n)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// One last merge collapses what is left.
	if _, err := addToSet(ctx, b2.Documents(), k, "final"); err != nil {
		t.Fatal(err)
	}
	doc, err = b1.Documents().Get(ctx, k)
	if err != nil || len(doc.Siblings) != 1 {
		t.Fatalf("after the final merge: %d siblings, %v; want 1", len(doc.Siblings), err)
	}
	got := decodeSet(doc.Siblings[0])
	if len(got) != 2*each+3 {
		t.Errorf("merged set has %d elements, want %d (x1, x2, final and every writer's)", len(got), 2*each+3)
	}
	for i := range 2 {
		for j := range each {
			if e := fmt.Sprintf("c%d-%02d", i, j); !got[e] {
				t.Errorf("update %s lost", e)
			}
		}
	}
	t.Logf("most siblings merged in one cycle: client 1 %d, client 2 %d", maxSibs[0], maxSibs[1])
}

func TestFailoverToAnotherNode(t *testing.T) {
	c := startCluster(t, 2)
	nodes := c.Nodes()
	b := open(t, testConfig(c.Addrs()))
	defer b.Close()
	ctx := context.Background()

	for round, down := range []*riaktest.Node{nodes[0], nodes[1]} {
		down.Down()
		before := down.Requests()
		for i := range 20 {
			k := storage.Key{Kind: "account", User: fmt.Sprintf("u%d-%d", round, i)}
			if err := b.KV().Put(ctx, k, []byte("v")); err != nil {
				t.Fatalf("round %d: put with %s down: %v", round, down.Name(), err)
			}
			if v, err := b.KV().Get(ctx, k); err != nil || string(v) != "v" {
				t.Fatalf("round %d: get with %s down: %q, %v", round, down.Name(), v, err)
			}
		}
		if down.Requests() != before {
			t.Errorf("round %d: the downed node served %d requests", round, down.Requests()-before)
		}
		if err := down.Up(); err != nil {
			t.Fatal(err)
		}
		waitPing(t, b)
	}
}

// waitPing waits until the backend reaches every node again.
func waitPing(t *testing.T, b *Backend) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for ok := 0; ok < 2; {
		if err := b.Ping(context.Background()); err == nil {
			ok++
		} else if time.Now().After(deadline) {
			t.Fatalf("backend did not recover: %v", err)
		}
	}
}

func TestAllNodesDown(t *testing.T) {
	c := startCluster(t, 1)
	b := open(t, testConfig(c.Addrs()))
	defer b.Close()
	c.Nodes()[0].Down()
	start := time.Now()
	err := b.Ping(context.Background())
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("ping with the only node down: %v, want ErrUnavailable", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "refused") && !strings.Contains(msg, "no node available") && !strings.Contains(msg, "closed by the node") {
		t.Errorf("error %q does not say why the node is unreachable", msg)
	}
	if !strings.Contains(msg, "after 4 attempts") {
		t.Errorf("error %q does not count the attempts (1 + 3 retries)", msg)
	}
	t.Logf("%v (in %v)", err, time.Since(start).Round(time.Millisecond))
	if err := c.Nodes()[0].Up(); err != nil {
		t.Fatal(err)
	}
	waitPing(t, b)
}

func TestSlowNodeTimesOut(t *testing.T) {
	c := startCluster(t, 1)
	cfg := testConfig(c.Addrs())
	cfg.Retries = -1
	cfg.RequestTimeout = Duration(200 * time.Millisecond)
	b := open(t, cfg)
	defer b.Close()
	c.Nodes()[0].SetDelay(2 * time.Second)
	start := time.Now()
	_, err := b.KV().Get(context.Background(), storage.Key{Kind: "account", User: "slow"})
	elapsed := time.Since(start)
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "timed out after 200ms") {
		t.Fatalf("get on a slow node: %v, want ErrUnavailable saying it timed out after 200ms", err)
	}
	if elapsed > 1500*time.Millisecond {
		t.Errorf("get took %v; the 200ms request timeout did not cut it short", elapsed)
	}
	t.Logf("%v", err)
}

func TestSlowNodeFailsOver(t *testing.T) {
	c := startCluster(t, 2)
	b := open(t, testConfig(c.Addrs()))
	defer b.Close()
	c.Nodes()[0].SetDelay(2 * time.Second)
	ctx := context.Background()
	for i := range 4 {
		k := storage.Key{Kind: "account", User: fmt.Sprint(i)}
		if err := b.KV().Put(ctx, k, []byte("v")); err != nil {
			t.Fatalf("put %d with one slow node: %v", i, err)
		}
	}
}

func TestResetConnectionsAreRetried(t *testing.T) {
	c := startCluster(t, 1)
	b := open(t, testConfig(c.Addrs()))
	defer b.Close()
	n := c.Nodes()[0]
	ctx := context.Background()
	k := storage.Key{Kind: "account", User: "reset"}
	n.ResetNext(2)
	before := n.Requests()
	if err := b.KV().Put(ctx, k, []byte("v1")); err != nil {
		t.Fatalf("put through two resets: %v", err)
	}
	if got := n.Requests() - before; got < 3 {
		t.Errorf("node read %d requests, want at least 3 (two reset, one served)", got)
	}
	n.ResetNext(1)
	if v, err := b.KV().Get(ctx, k); err != nil || string(v) != "v1" {
		t.Fatalf("get through a reset: %q, %v", v, err)
	}
}

func TestContextEndsWait(t *testing.T) {
	c := startCluster(t, 1)
	b := open(t, testConfig(c.Addrs()))
	defer b.Close()
	c.Nodes()[0].SetDelay(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.Documents().Get(ctx, storage.Key{Kind: "roster", User: "x"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("get past the context deadline: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("get returned after %v, want soon after the 50ms deadline", d)
	}
}

func TestOpenChecks(t *testing.T) {
	t.Run("no node answers", func(t *testing.T) {
		c := startCluster(t, 1)
		c.Nodes()[0].Down()
		_, err := Open(context.Background(), testConfig(c.Addrs()))
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("Open with the node down: %v, want ErrUnavailable", err)
		}
	})
	tests := []struct {
		name  string
		types map[string]riaktest.BucketProps
		want  string
	}{
		{name: "missing types", types: nil, want: `documents_bucket_type "xmppd_docs"`},
		{name: "documents without allow_mult", types: map[string]riaktest.BucketProps{
			"xmppd_docs": {}, "xmppd_kv": {},
		}, want: "allow_mult = false, want true"},
		{name: "kv with allow_mult", types: map[string]riaktest.BucketProps{
			"xmppd_docs": {AllowMult: true, DVVEnabled: true}, "xmppd_kv": {AllowMult: true},
		}, want: "allow_mult = true, want false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := riaktest.NewCluster(riaktest.Options{BucketTypes: tt.types})
			defer c.Close()
			if _, err := c.StartNode(); err != nil {
				t.Fatal(err)
			}
			_, err := Open(context.Background(), testConfig(c.Addrs()))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	c := startCluster(t, 1)
	cfg := testConfig(c.Addrs())
	cfg.MaxValueBytes = 16
	b := open(t, cfg)
	defer b.Close()
	err := b.KV().Put(context.Background(), storage.Key{Kind: "a", User: "b"}, bytes.Repeat([]byte("x"), 17))
	if !errors.Is(err, storage.ErrTooLarge) {
		t.Fatalf("put of 17 bytes with a 16-byte limit: %v, want ErrTooLarge", err)
	}
}

func TestPrimeRoundRobin(t *testing.T) {
	c := startCluster(t, 1)
	b := open(t, testConfig(c.Addrs()))
	defer b.Close()
	if !primeRoundRobin(b.cluster) {
		t.Fatal("primeRoundRobin did not find the client's round-robin index; Open can hang with all nodes down")
	}
}
