package muc

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/stanza"
)

// encodingRes is a c2s.Resource whose queue is drained by its own writer
// goroutine that encodes every stanza, as a session's writeLoop does.
type encodingRes struct {
	j     jid.JID
	out   chan *stanza.Element
	bytes atomic.Int64
	n     atomic.Int64
}

func newEncodingRes(j jid.JID) *encodingRes {
	r := &encodingRes{j: j, out: make(chan *stanza.Element, 1024)}
	go func() {
		var buf []byte
		for st := range r.out {
			buf = st.AppendXML(buf[:0], stanza.NSClient)
			r.bytes.Add(int64(len(buf)))
			r.n.Add(1)
		}
	}()
	return r
}

func (r *encodingRes) JID() jid.JID                  { return r.j }
func (r *encodingRes) Available() (bool, int)        { return true, 0 }
func (r *encodingRes) LastPresence() *stanza.Element { return nil }
func (r *encodingRes) Send(st *stanza.Element) error { r.out <- st; return nil }

// BenchmarkFanout measures groupchat fan-out: rooms × occupants, with
// parallel senders (one per GOMAXPROCS) each posting to rooms in turn.
// One op is one message accepted by a room and queued to every occupant;
// deliveries/s counts the queued copies.
func BenchmarkFanout(b *testing.B) {
	for _, tc := range []struct{ rooms, occupants int }{
		{1, 10}, {1, 100}, {1, 1000}, {10, 100}, {100, 10}, {100, 100},
	} {
		b.Run(fmt.Sprintf("rooms=%d/occupants=%d", tc.rooms, tc.occupants), func(b *testing.B) {
			benchFanout(b, tc.rooms, tc.occupants)
		})
	}
}

func benchFanout(b *testing.B, rooms, occupants int) {
	svc, err := New(Options{ServerDomain: "example.org", Metrics: prometheus.NewRegistry(),
		Config: Config{MessagesPerSecond: 1e12, MessageBurst: 1 << 30, MaxOccupants: occupants,
			MaxRoomsPerUser: rooms + 1}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var all []*encodingRes
	senders := make([][]*client, rooms)
	for r := 0; r < rooms; r++ {
		rj := "room" + strconv.Itoa(r) + "@conference.example.org"
		for o := 0; o < occupants; o++ {
			res := newEncodingRes(jid.MustParse("user" + strconv.Itoa(o) + "@example.org/r" + strconv.Itoa(r)))
			all = append(all, res)
			c := &client{jid: res.j, res: res, mem: &memberships{}}
			p := stanza.New(stanza.NSClient, "presence", "from", res.j.String(), "to", rj+"/n"+strconv.Itoa(o))
			if err := svc.handle(ctx, c, p); err != nil {
				b.Fatal(err)
			}
			senders[r] = append(senders[r], c)
		}
	}
	for _, r := range all {
		for r.n.Load() < 1 {
			time.Sleep(time.Millisecond)
		}
	}
	var before int64
	for _, r := range all {
		before += r.n.Load()
	}
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(seq.Add(1))
			r := i % rooms
			c := senders[r][i%occupants]
			msg := stanza.New(stanza.NSClient, "message", "type", "groupchat", "id", "m"+strconv.Itoa(i),
				"from", c.jid.String(), "to", "room"+strconv.Itoa(r)+"@conference.example.org").
				Append(stanza.New(stanza.NSClient, "body").SetText("a message of typical length for a group chat"))
			if err := svc.handle(ctx, c, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	want := before + int64(b.N)*int64(occupants)
	for {
		var n int64
		for _, r := range all {
			n += r.n.Load()
		}
		if n >= want {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)*float64(occupants)/elapsed.Seconds(), "deliveries/s")
	for _, r := range all {
		close(r.out)
	}
}

// countingRes is a c2s.Resource whose Send only counts: what is left is
// the sending goroutine's own work.
type countingRes struct {
	j jid.JID
	n atomic.Int64
}

func (r *countingRes) JID() jid.JID                  { return r.j }
func (r *countingRes) Available() (bool, int)        { return true, 0 }
func (r *countingRes) LastPresence() *stanza.Element { return nil }
func (r *countingRes) Send(*stanza.Element) error    { r.n.Add(1); return nil }

// BenchmarkGroupchatSender measures the sender's side of a groupchat
// message alone, in one goroutine: the room's checks, history and the
// per-occupant copies queued to resources that only count them. This is
// the part of the fan-out that runs under the room's lock; encoding and
// writing run on the recipients' writers.
func BenchmarkGroupchatSender(b *testing.B) {
	for _, occupants := range []int{20, 100} {
		b.Run(fmt.Sprintf("occupants=%d", occupants), func(b *testing.B) {
			svc, err := New(Options{ServerDomain: "example.org", Metrics: prometheus.NewRegistry(),
				Config: Config{MessagesPerSecond: 1e12, MessageBurst: 1 << 30, MaxOccupants: occupants}})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			const rj = "room@conference.example.org"
			var res []*countingRes
			var senders []*client
			for o := 0; o < occupants; o++ {
				r := &countingRes{j: jid.MustParse("user" + strconv.Itoa(o) + "@example.org/res")}
				c := &client{jid: r.j, res: r, mem: &memberships{}}
				p := stanza.New(stanza.NSClient, "presence", "from", r.j.String(), "to", rj+"/n"+strconv.Itoa(o))
				if err := svc.handle(ctx, c, p); err != nil {
					b.Fatal(err)
				}
				res, senders = append(res, r), append(senders, c)
			}
			var before int64
			for _, r := range res {
				before += r.n.Load()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c := senders[i%occupants]
				msg := stanza.New(stanza.NSClient, "message", "type", "groupchat", "id", "m"+strconv.Itoa(i),
					"from", c.jid.String(), "to", rj).
					Append(stanza.New(stanza.NSClient, "body").SetText("a message of typical length for a group chat"))
				if err := svc.handle(ctx, c, msg); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			var n int64
			for _, r := range res {
				n += r.n.Load()
			}
			if got, want := n-before, int64(b.N)*int64(occupants); got != want {
				b.Fatalf("delivered %d copies, want %d", got, want)
			}
		})
	}
}
