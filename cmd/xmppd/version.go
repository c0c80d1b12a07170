package main

import "runtime/debug"

// version is set at link time:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/xmppd
//
// Without it, buildVersion reads the module version or VCS revision that
// the Go toolchain records.
var version string

// buildVersion returns the version reported to clients (XEP-0092) and
// by "xmppd version".
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "devel"
	}
	return "devel-" + rev + dirty
}
