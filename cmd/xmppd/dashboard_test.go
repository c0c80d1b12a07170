package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/xmppd/xmppd/admin"
	"github.com/xmppd/xmppd/metrics/graphite"
	"github.com/xmppd/xmppd/storage"
	"github.com/xmppd/xmppd/storage/riak"
	"github.com/xmppd/xmppd/storage/riak/riaktest"
)

// dashboardFile is the Grafana dashboard shipped in docs/grafana.
const dashboardFile = "../../docs/grafana/xmppd.json"

// TestDashboardMetricsExist lints the Grafana dashboard against the real
// wiring: it runs the server as `xmppd serve` does — once on the embedded
// store, once on Riak (riaktest), both with a Graphite push, so that every
// optional part registers its metrics — and fails naming each metric a
// dashboard query uses that those registries do not have.
func TestDashboardMetricsExist(t *testing.T) {
	reg := registeredMetrics(t)
	queries := dashboardQueries(t, dashboardFile)
	if len(queries) < 10 {
		t.Fatalf("only %d queries found in %s", len(queries), dashboardFile)
	}
	for _, q := range queries {
		refs, err := promqlRefs(q.query)
		if err != nil {
			t.Errorf("%s: %v", q.where, err)
			continue
		}
		if len(refs.names) == 0 {
			t.Errorf("%s: no metric in %q", q.where, q.query)
		}
		for _, n := range refs.names {
			if why := reg.check(n); why != "" {
				t.Errorf("%s: %s %s", q.where, n, why)
			}
		}
		for _, l := range refs.labels {
			if !reg.hasLabel(refs.names, l) {
				t.Errorf("%s: label %q is on none of %q", q.where, l, refs.names)
			}
		}
	}
}

// A metricSet is what the registries of a running server hold: every
// registered name (from the collectors' descriptions, which include the
// vectors no sample has been recorded on yet) and, for the families that
// have samples, their type.
type metricSet struct {
	names  map[string]bool
	types  map[string]dto.MetricType
	labels map[string]map[string]bool // name → its label names
}

// targetLabels are the labels Prometheus adds to every scraped series.
var targetLabels = map[string]bool{"instance": true, "job": true, "__name__": true}

// hasLabel reports whether label can be on a series of one of names (as
// queried, suffixes included): a label of the family, a target label,
// le of a histogram's buckets, quantile of a summary.
func (m metricSet) hasLabel(names []string, label string) bool {
	if targetLabels[label] {
		return true
	}
	for _, n := range names {
		if m.labels[n][label] {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(n, suffix); ok && m.labels[base][label] {
				return true
			}
		}
		if base, ok := strings.CutSuffix(n, "_bucket"); ok && label == "le" && m.names[base] {
			return true
		}
		if label == "quantile" && m.types[n] == dto.MetricType_SUMMARY {
			return true
		}
	}
	return false
}

// check says why a name used in a query has no series ("" if it has):
// a histogram's series are name_bucket, name_sum and name_count, a
// summary's name{quantile}, name_sum and name_count. A family without
// samples yet has no known type; its suffixed names are accepted.
func (m metricSet) check(name string) string {
	if m.names[name] {
		if typ, ok := m.types[name]; ok && typ == dto.MetricType_HISTOGRAM {
			return "is a histogram: query name_bucket, name_sum or name_count"
		}
		return ""
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok || !m.names[base] {
			continue
		}
		typ, known := m.types[base]
		switch {
		case !known, typ == dto.MetricType_HISTOGRAM, typ == dto.MetricType_SUMMARY && suffix != "_bucket":
			return ""
		}
		return fmt.Sprintf("is not registered (%s is a %s)", base, strings.ToLower(typ.String()))
	}
	return "is not registered by the server"
}

// descName and descLabels read a prometheus.Desc's String, the only
// place a Desc shows its name and label names.
var (
	descName   = regexp.MustCompile(`fqName: "([^"]+)"`)
	descLabels = regexp.MustCompile(`constLabels: \{([^}]*)\}, variableLabels: \{([^}]*)\}`)
)

// registeredMetrics runs the server on each backend and collects what its
// registry holds.
func registeredMetrics(t *testing.T) metricSet {
	t.Helper()
	set := metricSet{names: map[string]bool{}, types: map[string]dto.MetricType{}, labels: map[string]map[string]bool{}}
	addLabel := func(name, label string) {
		if set.labels[name] == nil {
			set.labels[name] = map[string]bool{}
		}
		set.labels[name][label] = true
	}
	for _, backend := range []string{backendEmbedded, backendRiak} {
		reg := serveForRegistry(t, backend)
		descs := make(chan *prometheus.Desc)
		go func() {
			reg.Describe(descs)
			close(descs)
		}()
		for d := range descs {
			m := descName.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("cannot read the name of %s", d)
			}
			set.names[m[1]] = true
			ls := descLabels.FindStringSubmatch(d.String())
			if ls == nil {
				t.Fatalf("cannot read the labels of %s", d)
			}
			for _, l := range strings.Split(ls[1], ",") { // name="value"
				if name, _, ok := strings.Cut(l, "="); ok {
					addLabel(m[1], strings.TrimSpace(name))
				}
			}
			for _, l := range strings.Split(ls[2], ",") { // name or c(name)
				if l = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(l), "c("), ")"); l != "" {
					addLabel(m[1], l)
				}
			}
		}
		families, err := reg.Gather()
		if err != nil {
			t.Fatalf("%s: gather: %v", backend, err)
		}
		for _, f := range families {
			set.names[f.GetName()] = true
			set.types[f.GetName()] = f.GetType()
			for _, m := range f.GetMetric() {
				for _, lp := range m.GetLabel() {
					addLabel(f.GetName(), lp.GetName())
				}
			}
		}
	}
	if !set.names["xmppd_c2s_stanzas_in_total"] || !set.names["go_goroutines"] {
		t.Fatalf("the registries lack basic metrics: %d names", len(set.names))
	}
	return set
}

// serveForRegistry runs `xmppd serve` on backend until the admin API
// answers and returns the registry it built (the one storage was opened
// with), then stops it when the test ends.
func serveForRegistry(t *testing.T, backend string) *prometheus.Registry {
	t.Helper()
	cfg := defaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Listen = ListenConfig{C2S: freeAddr(t), TLS: freeAddr(t), HTTP: freeAddr(t)}
	cfg.Storage.Backend = backend
	if backend == backendRiak {
		cluster := riaktest.NewCluster(riaktest.Options{BucketTypes: map[string]riaktest.BucketProps{
			"xmppd_docs": {AllowMult: true, DVVEnabled: true},
			"xmppd_kv":   {AllowMult: false},
		}})
		t.Cleanup(func() { cluster.Close() })
		if _, err := cluster.StartNode(); err != nil {
			t.Fatal(err)
		}
		cfg.Storage.Riak = riak.Config{Nodes: cluster.Addrs()}
	}
	cfg.Metrics.Graphite = graphite.Config{Address: discardingCarbon(t)}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}

	regs := make(chan *prometheus.Registry, 1)
	var logs syncBuffer
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &logs,
		openStore: func(cfg Config, o storeOptions) (storage.Backend, error) {
			r, ok := o.metrics.(*prometheus.Registry)
			if !ok {
				return nil, fmt.Errorf("storage metrics on a %T, want the server's *prometheus.Registry", o.metrics)
			}
			regs <- r
			return openStorage(cfg, o)
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.serve(ctx, cfg, func() (Config, error) { return cfg, nil }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: serve: %v", backend, err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("%s: serve did not stop", backend)
		}
	})
	client := &admin.Client{BaseURL: "http://" + cfg.Listen.HTTP}
	waitFor(t, backend+" server", func() bool {
		select {
		case err := <-done:
			t.Fatalf("%s: serve ended: %v\n%s", backend, err, logs.String())
		default:
		}
		_, err := client.Health(ctx)
		return err == nil
	})
	return <-regs
}

// discardingCarbon listens on loopback and reads whatever a Graphite push
// sends, for as long as the test runs.
func discardingCarbon(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				conn.SetReadDeadline(time.Now().Add(time.Minute))
				io.Copy(io.Discard, conn)
			}()
		}
	}()
	return ln.Addr().String()
}

// A dashboardQuery is one PromQL query of the dashboard and where it is.
type dashboardQuery struct {
	where, query string
}

// labelValues is Grafana's label_values(metric{…}, label) variable query.
var labelValues = regexp.MustCompile(`^\s*label_values\(\s*(?:([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s*,\s*)?[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)

// dashboardQueries returns every panel target's expr and every variable's
// query, the metric selector of label_values queries standing for them.
func dashboardQueries(t *testing.T, file string) []dashboardQuery {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var out []dashboardQuery
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if title, ok := v["title"].(string); ok {
				path += fmt.Sprintf(" %q", title)
			}
			for k, x := range v {
				if s, ok := x.(string); ok && k == "expr" {
					out = append(out, dashboardQuery{where: path, query: s})
					continue
				}
				walk(path, x)
			}
		case []any:
			for _, x := range v {
				walk(path, x)
			}
		}
	}
	for i, raw := range dash.Panels {
		var p any
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatalf("%s: panel %d: %v", file, i, err)
		}
		walk(fmt.Sprintf("panel %d", i), p)
	}
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q string
		var obj struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &q) != nil {
			if err := json.Unmarshal(v.Query, &obj); err != nil {
				t.Fatalf("%s: variable %s: query: %v", file, v.Name, err)
			}
			q = obj.Query
		}
		where := "variable " + v.Name
		if m := labelValues.FindStringSubmatch(q); m != nil {
			if m[1] != "" {
				out = append(out, dashboardQuery{where: where, query: m[1]})
			}
			continue
		}
		out = append(out, dashboardQuery{where: where, query: q})
	}
	return out
}

// promqlKeywords are the identifiers of PromQL that are not metric names
// where a metric name could stand.
var promqlKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "and": true, "or": true, "unless": true, "offset": true, "atan2": true,
	"inf": true, "nan": true,
	// aggregation operators, which may take "by (…)" before their
	// parenthesis
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

// queryRefs are the metric and label names a PromQL expression uses.
type queryRefs struct {
	names, labels []string
}

// matcherLabel finds the label names of the matchers inside {…}, once
// string values are blanked.
var matcherLabel = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)

// promqlRefs returns the metric names a PromQL expression selects —
// identifiers that are not function or aggregation calls, keywords,
// numbers, durations, Grafana variables ($x, ${x}), inside {…} or […],
// or in the label lists of by, without, on, ignoring, group_left and
// group_right — and the label names it uses: in those lists and in the
// matchers inside {…}. A name given only as {__name__=…} is reported as
// an error: this lint does not read it.
func promqlRefs(q string) (queryRefs, error) {
	var names, labels []string
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isIdent := func(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
	// skipTo returns the index after the bracket closing the one at i.
	skipTo := func(i int, open, close byte) (int, error) {
		depth := 0
		for j := i; j < len(q); j++ {
			switch q[j] {
			case '"', '\'', '`':
				end := strings.IndexByte(q[j+1:], q[j])
				if end < 0 {
					return 0, fmt.Errorf("unterminated string in %q", q)
				}
				j += end + 1
			case open:
				depth++
			case close:
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("unbalanced %c in %q", open, q)
	}
	nextNonSpace := func(i int) int {
		for i < len(q) && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r') {
			i++
		}
		return i
	}
	depth := 0 // of the parentheses scanned
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '(' || c == ')':
			if c == '(' {
				depth++
			} else if depth--; depth < 0 {
				return queryRefs{}, fmt.Errorf("unbalanced ) in %q", q)
			}
			i++
		case c == '"' || c == '\'' || c == '`':
			end := strings.IndexByte(q[i+1:], c)
			if end < 0 {
				return queryRefs{}, fmt.Errorf("unterminated string in %q", q)
			}
			i += end + 2
		case c == '{':
			j, err := skipTo(i, '{', '}')
			if err != nil {
				return queryRefs{}, err
			}
			if strings.Contains(q[i:j], "__name__") {
				return queryRefs{}, fmt.Errorf("a __name__ matcher in %q: name the metric before the braces", q)
			}
			for _, m := range matcherLabel.FindAllStringSubmatch(blankStrings(q[i:j]), -1) {
				labels = append(labels, m[1])
			}
			i = j
		case c == '[':
			j, err := skipTo(i, '[', ']')
			if err != nil {
				return queryRefs{}, err
			}
			i = j
		case c == '$':
			i++
			if i < len(q) && q[i] == '{' {
				j, err := skipTo(i, '{', '}')
				if err != nil {
					return queryRefs{}, err
				}
				i = j
				continue
			}
			for i < len(q) && isIdent(q[i]) {
				i++
			}
		case c >= '0' && c <= '9' || c == '.':
			for i < len(q) && (isIdent(q[i]) || q[i] == '.') {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(q) && isIdent(q[j]) {
				j++
			}
			word := q[i:j]
			k := nextNonSpace(j)
			switch {
			case promqlKeywords[strings.ToLower(word)]:
				if k < len(q) && q[k] == '(' && slices.Contains([]string{"by", "without", "on", "ignoring", "group_left", "group_right"}, strings.ToLower(word)) {
					// by (…), on (…), group_left (…): label names.
					end, err := skipTo(k, '(', ')')
					if err != nil {
						return queryRefs{}, err
					}
					for _, l := range strings.Split(q[k+1:end-1], ",") {
						if l = strings.TrimSpace(l); l != "" {
							labels = append(labels, l)
						}
					}
					j = end
				}
			case k < len(q) && q[k] == '(':
				// a function or aggregation: its arguments are scanned next
			default:
				names = append(names, word)
			}
			i = j
		default:
			i++
		}
	}
	if depth != 0 {
		return queryRefs{}, fmt.Errorf("unbalanced ( in %q", q)
	}
	return queryRefs{names: names, labels: labels}, nil
}

// blankStrings replaces the quoted strings of s by "".
func blankStrings(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\'' || c == '`' {
			if end := strings.IndexByte(s[i+1:], c); end >= 0 {
				b.WriteString(`""`)
				i += end + 1
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func TestPromQLRefs(t *testing.T) {
	tests := []struct {
		name, q      string
		want, labels []string
		err          bool
	}{
		{name: "selector", q: `xmppd_c2s_sessions{instance=~"$instance"}`, want: []string{"xmppd_c2s_sessions"}, labels: []string{"instance"}},
		{name: "aggregation with by first", q: `sum by (kind, outcome) (rate(xmppd_c2s_routed_total{instance=~"$instance"}[$__rate_interval]))`,
			want: []string{"xmppd_c2s_routed_total"}, labels: []string{"kind", "outcome", "instance"}},
		{name: "by after", q: `sum(rate(a_total[5m])) by (le) / on(instance) group_left(job) b`, want: []string{"a_total", "b"},
			labels: []string{"le", "instance", "job"}},
		{name: "quantile", q: `histogram_quantile(0.99, sum by (le) (rate(x_seconds_bucket[1m])))`, want: []string{"x_seconds_bucket"}, labels: []string{"le"}},
		{name: "binary and offset", q: `a > bool 1e3 and b offset 5m unless c`, want: []string{"a", "b", "c"}},
		{name: "matchers with odd strings", q: `m{a="by (x)", b!='}', c=~"{", d!~"e=f"}`, want: []string{"m"}, labels: []string{"a", "b", "c", "d"}},
		{name: "grafana variables", q: `rate(m[${__interval}]) * $factor`, want: []string{"m"}},
		{name: "name matcher", q: `{__name__="m"}`, err: true},
		{name: "unbalanced", q: `sum(rate(m[5m])`, err: true},
		{name: "unbalanced close", q: `sum(m))`, err: true},
	}
	for _, tc := range tests {
		got, err := promqlRefs(tc.q)
		if (err != nil) != tc.err || !slices.Equal(got.names, tc.want) || !slices.Equal(got.labels, tc.labels) {
			t.Errorf("%s: promqlRefs(%q) = %q %q, %v; want %q %q, error %v", tc.name, tc.q, got.names, got.labels, err, tc.want, tc.labels, tc.err)
		}
	}
}

func TestMetricSetCheck(t *testing.T) {
	m := metricSet{
		names:  map[string]bool{"h_seconds": true, "s_seconds": true, "c_total": true, "fresh_seconds": true},
		types:  map[string]dto.MetricType{"h_seconds": dto.MetricType_HISTOGRAM, "s_seconds": dto.MetricType_SUMMARY, "c_total": dto.MetricType_COUNTER},
		labels: map[string]map[string]bool{"h_seconds": {"op": true}, "c_total": {"kind": true}},
	}
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"h_seconds_bucket", true}, {"h_seconds_sum", true}, {"h_seconds_count", true},
		{"h_seconds", false}, // a histogram has no series of its bare name
		{"s_seconds", true}, {"s_seconds_sum", true}, {"s_seconds_bucket", false},
		{"c_total", true}, {"c_total_count", false},
		{"fresh_seconds_bucket", true}, // registered, no samples yet: type unknown
		{"c_totl", false},
	} {
		if why := m.check(tc.name); (why == "") != tc.ok {
			t.Errorf("check(%q) = %q, want ok %v", tc.name, why, tc.ok)
		}
	}
	for _, tc := range []struct {
		names []string
		label string
		ok    bool
	}{
		{[]string{"c_total"}, "kind", true},
		{[]string{"c_total"}, "instance", true},
		{[]string{"c_total"}, "op", false},
		{[]string{"c_total", "h_seconds_bucket"}, "op", true},
		{[]string{"h_seconds_bucket"}, "le", true},
		{[]string{"h_seconds_sum"}, "le", false},
		{[]string{"s_seconds"}, "quantile", true},
		{[]string{"c_total"}, "quantile", false},
	} {
		if got := m.hasLabel(tc.names, tc.label); got != tc.ok {
			t.Errorf("hasLabel(%q, %q) = %v, want %v", tc.names, tc.label, got, tc.ok)
		}
	}
}

// TestDashboardLayout: panel ids are unique and no two panels (rows
// included) overlap on Grafana's 24-column grid, so the dashboard shows
// as laid out rather than as Grafana rearranges it.
func TestDashboardLayout(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type grid struct{ H, W, X, Y int }
	var dash struct {
		Panels []struct {
			ID      int    `json:"id"`
			Title   string `json:"title"`
			GridPos grid   `json:"gridPos"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	ids := map[int]string{}
	for i, p := range dash.Panels {
		if other, dup := ids[p.ID]; dup {
			t.Errorf("panel %q has the id %d of %q", p.Title, p.ID, other)
		}
		ids[p.ID] = p.Title
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v is off the 24-column grid", p.Title, g)
		}
		for _, q := range dash.Panels[:i] {
			h := q.GridPos
			if g.X < h.X+h.W && h.X < g.X+g.W && g.Y < h.Y+h.H && h.Y < g.Y+g.H {
				t.Errorf("panel %q %+v overlaps %q %+v", p.Title, g, q.Title, h)
			}
		}
	}
}
