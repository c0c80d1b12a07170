package integration

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sseEvent is one server-sent event of the live debug trace.
type sseEvent struct {
	name string
	data string
}

// traceEvent is the data of a "trace" event.
type traceEvent struct {
	Message string         `json:"msg"`
	JID     string         `json:"jid"`
	Level   string         `json:"level"`
	Attrs   map[string]any `json:"attrs"`
}

// openTrace opens GET /api/v1/debug/{jid}/stream and returns its events
// on a channel, closed when the stream ends.
func openTrace(t *testing.T, s *server, target string) <-chan sseEvent {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+s.httpAddr+"/api/v1/debug/"+target+"/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.adminToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("trace stream of %s: %d %s", target, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 1000)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var ev sseEvent
		for sc.Scan() {
			switch line := sc.Text(); {
			case line == "":
				if ev.name != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			}
		}
	}()
	select {
	case ev := <-ch:
		if ev.name != "start" || !strings.Contains(ev.data, `"jid":"`+target+`"`) {
			t.Fatalf("first event %+v, want start for %s", ev, target)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no start event")
	}
	return ch
}

// TestDebugTraceStream switches debug on for alice, watches her live
// trace with two watchers while alice and bob exchange messages, alice
// reads her roster and blocks dave, and checks that the trace has alice's
// XML both ways, her routing decisions, her blocklist's verdicts (her
// message to dave and dave's to her denied, bob's allowed with no match)
// and her storage calls (roster get, the blocklist written, carol's
// offline message stored), and nothing of bob's or dave's sessions; then
// switching debug off ends the streams.
func TestDebugTraceStream(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{users: map[string]string{"alice": "pw", "bob": "pw", "carol": "pw", "dave": "pw"}})
	tok := s.adminToken()

	// Refusals before anything is switched on.
	for _, tc := range []struct {
		token, path string
		code        int
	}{
		{tok, "/api/v1/debug/alice@localhost/stream", 409}, // switch off
		{"wrong-token", "/api/v1/debug/alice@localhost/stream", 401},
		{tok, "/api/v1/debug/not a jid@@/stream", 400},
		{tok, "/api/v1/debug/alice@elsewhere.example/stream", 400},
		{tok, "/api/v1/debug/alice@localhost", 404}, // GET without /stream
	} {
		if code, body := apiCall(t, s, tc.token, "GET", strings.ReplaceAll(tc.path, " ", "%20"), ""); code != tc.code {
			t.Errorf("GET %s: %d %s, want %d", tc.path, code, body, tc.code)
		}
	}

	if code, body := apiCall(t, s, tok, "PUT", "/api/v1/debug/alice@localhost?for=5m", ""); code != 200 {
		t.Fatalf("debug on: %d %s", code, body)
	}
	w1 := openTrace(t, s, "alice@localhost")
	w2 := openTrace(t, s, "alice@localhost")

	if got := s.slixResults("debugtrace_chat.py"); len(got) != 1 || got[0] != "done" {
		t.Fatalf("scenario: %q", got)
	}

	want := map[string]func(traceEvent) bool{
		"alice's message to bob, received": func(e traceEvent) bool {
			return e.Message == "recv" && strings.Contains(str(e.Attrs["xml"]), "trace-alice-to-bob")
		},
		"bob's message, sent to alice": func(e traceEvent) bool {
			return e.Message == "send" && strings.Contains(str(e.Attrs["xml"]), "trace-bob-to-alice")
		},
		"routing: delivered to bob": func(e traceEvent) bool {
			return e.Message == "routed" && e.Attrs["outcome"] == "delivered" && strings.HasPrefix(str(e.Attrs["to"]), "bob@localhost")
		},
		"routing: offline for carol": func(e traceEvent) bool {
			return e.Message == "routed" && e.Attrs["outcome"] == "offline" && e.Attrs["to"] == "carol@localhost"
		},
		"privacy: alice's message to dave denied by her blocklist": func(e traceEvent) bool {
			return e.Message == "privacy verdict" && e.Attrs["direction"] == "out" && e.Attrs["verdict"] == "deny" &&
				e.Attrs["peer"] == "dave@localhost" && e.Attrs["list"] == "Blocked contacts" && e.Attrs["blocklist"] == true &&
				e.Attrs["item_value"] == "dave@localhost" && e.Attrs["stanza"] == "message"
		},
		"privacy: dave's message to alice denied": func(e traceEvent) bool {
			return e.Message == "privacy verdict" && e.Attrs["direction"] == "in" && e.Attrs["verdict"] == "deny" &&
				e.Attrs["peer"] == "dave@localhost/pad" && e.Attrs["kind"] == "message" && e.Attrs["order"] != nil
		},
		"privacy: bob's message to alice allowed, no item matching": func(e traceEvent) bool {
			return e.Message == "privacy verdict" && e.Attrs["direction"] == "in" && e.Attrs["verdict"] == "allow" &&
				e.Attrs["peer"] == "bob@localhost/phone" && e.Attrs["match"] == "none"
		},
		"storage: alice's roster read": func(e traceEvent) bool {
			return e.Message == "storage" && e.Attrs["op"] == "documents.get" && e.Attrs["key"] == "roster/alice@localhost" &&
				e.Attrs["outcome"] == "ok" && e.Attrs["duration"] != nil
		},
		"storage: alice's blocklist written": func(e traceEvent) bool {
			return e.Message == "storage" && e.Attrs["op"] == "documents.put" && e.Attrs["key"] == "privacy/alice@localhost"
		},
		"storage: carol's offline message stored": func(e traceEvent) bool {
			return e.Message == "storage" && e.Attrs["op"] == "queues.push" && e.Attrs["key"] == "offline/carol@localhost"
		},
	}
	for i, w := range []<-chan sseEvent{w1, w2} {
		seen := map[string]bool{}
		var events []traceEvent
		deadline := time.After(15 * time.Second)
	collect:
		for len(seen) < len(want) {
			select {
			case ev, ok := <-w:
				if !ok {
					t.Fatalf("watcher %d: stream ended early", i)
				}
				if ev.name != "trace" {
					t.Errorf("watcher %d: unexpected %s event %s", i, ev.name, ev.data)
					continue
				}
				var te traceEvent
				if err := json.Unmarshal([]byte(ev.data), &te); err != nil {
					t.Fatalf("watcher %d: bad trace data %q: %v", i, ev.data, err)
				}
				events = append(events, te)
				for what, match := range want {
					if match(te) {
						seen[what] = true
					}
				}
			case <-deadline:
				break collect
			}
		}
		for what := range want {
			if !seen[what] {
				t.Errorf("watcher %d: never saw %s in %d events", i, what, len(events))
			}
		}
		for _, e := range events {
			if !strings.HasPrefix(e.JID, "alice@localhost/") || !strings.HasPrefix(str(e.Attrs["jid"]), "alice@localhost/") {
				t.Errorf("watcher %d: event of %s in alice's trace: %+v", i, e.JID, e)
			}
			if x := str(e.Attrs["xml"]); strings.Contains(x, "trace-bob-to-carol") || strings.Contains(x, "trace-dave-to-alice") {
				t.Errorf("watcher %d: bob's or dave's own traffic in alice's trace: %s", i, x)
			}
			// bob's roster get and the others' logins read their own
			// documents on their own sessions' behalf. (Alice's messages
			// legitimately touch the recipients' archives and queues.)
			switch str(e.Attrs["key"]) {
			case "roster/bob@localhost", "privacy/bob@localhost", "roster/dave@localhost", "privacy/dave@localhost":
				t.Errorf("watcher %d: another user's storage call in alice's trace: %+v", i, e)
			}
		}
		t.Logf("watcher %d: %d trace events", i, len(events))
	}
	// The debugged session's XML is in the server log too; bob's is not.
	if !s.waitLog("trace-alice-to-carol", 5*time.Second) {
		t.Error("alice's XML is not in the server log")
	}
	if strings.Contains(s.log.String(), "trace-bob-to-carol") {
		t.Error("bob's XML is in the server log")
	}
	// Verdicts and storage calls are logged for debugged sessions only,
	// even with the server's own level at debug.
	for _, line := range strings.Split(s.log.String(), "\n") {
		traced := strings.Contains(line, "msg=storage") || strings.Contains(line, `msg="privacy verdict"`)
		if traced && (strings.Contains(line, "jid=bob@") || strings.Contains(line, "jid=dave@")) {
			t.Errorf("an undebugged session's trace record in the server log: %s", line)
		}
	}

	// Switching debug off ends both streams with an end event.
	if code, body := apiCall(t, s, tok, "DELETE", "/api/v1/debug/alice@localhost", ""); code != 200 {
		t.Fatalf("debug off: %d %s", code, body)
	}
	for i, w := range []<-chan sseEvent{w1, w2} {
		ended := false
		timeout := time.After(10 * time.Second)
	drain:
		for {
			select {
			case ev, ok := <-w:
				if !ok {
					break drain
				}
				if ev.name == "end" {
					ended = true
				}
			case <-timeout:
				t.Errorf("watcher %d: stream still open after debug off", i)
				break drain
			}
		}
		if !ended {
			t.Errorf("watcher %d: stream closed without an end event", i)
		}
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
