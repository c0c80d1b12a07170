package c2s

import (
	"encoding/xml"
	"fmt"
	"io"
	"testing"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// BenchmarkCSITraffic measures what client state indication saves on a
// presence-heavy workload: one recipient whose N contacts each change
// presence and type (composing, then paused) for some rounds; in the
// "mixed" workload every contact also sends a message with a body every
// tenth round. With csi=on the recipient is inactive during the workload
// and active at the end. Reported per operation (one workload): the bytes
// of XML the recipient read (after TLS) and the stanzas, up to and
// including the answer to a ping sent after the workload.
func BenchmarkCSITraffic(b *testing.B) {
	const contacts, rounds = 50, 20
	for _, mixed := range []bool{false, true} {
		for _, csi := range []bool{false, true} {
			name := fmt.Sprintf("workload=%s/csi=%s", map[bool]string{false: "presence+typing", true: "mixed"}[mixed], map[bool]string{false: "off", true: "on"}[csi])
			b.Run(name, func(b *testing.B) { benchCSITraffic(b, contacts, rounds, mixed, csi) })
		}
	}
}

func benchCSITraffic(b *testing.B, contacts, rounds int, mixed, csi bool) {
	users := map[string]string{"bob": "pw"}
	for i := range contacts {
		users[fmt.Sprint("c", i)] = "pw"
	}
	srv := newTestServer(b, Config{QueueLength: 8192, StanzasPerSecond: -1, BytesPerSecond: -1}, users)
	bob := dialClient(b, srv.addr, "bob", "pw", "phone")
	const to = "bob@localhost/phone"
	cs := make([]*testClient, contacts)
	for i := range cs {
		cs[i] = dialClient(b, srv.addr, fmt.Sprint("c", i), "pw", "pc")
	}
	shows := []string{"away", "chat", "dnd", "xa"}
	var bytes, stanzas int64
	b.ResetTimer()
	for op := range b.N {
		if csi {
			bob.send(csiInactive)
			bob.sync()
		}
		// The recipient reads concurrently so that its queue never fills.
		cr := &countingReader{r: bob.conn}
		dec := xml.NewDecoder(cr)
		end := fmt.Sprint("end", op)
		done := make(chan int64, 1)
		go func() {
			var n int64
			for {
				tok, err := dec.Token()
				if err != nil {
					done <- -1
					return
				}
				if st, ok := tok.(xml.StartElement); ok {
					n++
					if err := dec.Skip(); err != nil {
						done <- -1
						return
					}
					for _, a := range st.Attr {
						if a.Name.Local == "id" && a.Value == end {
							done <- n
							return
						}
					}
				}
			}
		}()
		for r := range rounds {
			for i, c := range cs {
				c.send(presenceTo(to, shows[(r+i)%len(shows)]))
				c.send(typingTo(to, "composing"))
				if mixed && r%10 == 9 {
					c.send(fmtMsg(to, fmt.Sprint("m", r), "a line of chat, about as long as most"))
				}
				c.send(typingTo(to, "paused"))
			}
		}
		for _, c := range cs {
			c.sync()
		}
		if csi {
			bob.send(csiActive)
		}
		bob.send(`<iq type='get' id='` + end + `'><ping xmlns='urn:xmpp:ping'/></iq>`)
		n := <-done
		if n < 0 {
			b.Fatal("recipient's stream failed")
		}
		bytes += cr.n
		stanzas += n
	}
	b.StopTimer()
	b.ReportMetric(float64(bytes)/float64(b.N), "wire-bytes/op")
	b.ReportMetric(float64(stanzas)/float64(b.N), "stanzas/op")
}
