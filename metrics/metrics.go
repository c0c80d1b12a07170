// Package metrics owns the naming rules for xmppd's Prometheus metrics and
// builds the registry that cmd/xmppd passes to every package. Each package
// declares its own metrics (in its metrics.go) on the prometheus.Registerer
// it is given, named xmppd_<pkg>_<what>[_unit]; tests use a fresh registry
// from New and check the names with Lint.
//
// It imports nothing of ours, so every package may depend on it.
package metrics

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every xmppd metric.
const Namespace = "xmppd"

// New returns a registry with the Go runtime and process collectors, ready
// for the packages to register on.
func New() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return r
}

var validName = regexp.MustCompile(`^xmppd_[a-z][a-z0-9]*_[a-z][a-z0-9_]*[a-z0-9]$`)

// Lint gathers g and reports every metric family of ours whose name breaks
// the rules: xmppd_<pkg>_ prefix (pkg given, e.g. "c2s"), lower snake case,
// counters ending in _total, and a non-empty help text. Families of the Go
// runtime and process collectors are ignored.
func Lint(g prometheus.Gatherer, pkg string) error {
	families, err := g.Gather()
	if err != nil {
		return fmt.Errorf("metrics: gather: %w", err)
	}
	var problems []string
	for _, f := range families {
		name := f.GetName()
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue
		}
		if !strings.HasPrefix(name, Namespace+"_"+pkg+"_") || !validName.MatchString(name) {
			problems = append(problems, fmt.Sprintf("%s: want xmppd_%s_<lower_snake_case>", name, pkg))
		}
		if f.GetType().String() == "COUNTER" && !strings.HasSuffix(name, "_total") {
			problems = append(problems, name+": counter without _total suffix")
		}
		if strings.TrimSpace(f.GetHelp()) == "" {
			problems = append(problems, name+": empty help")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("metrics: bad names:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}
