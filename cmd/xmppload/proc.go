package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// A procSample is the server's accumulated CPU time and resident memory at
// one moment, read from /proc/<pid>/stat and /proc/<pid>/status (proc(5)).
type procSample struct {
	at    time.Time
	cpu   time.Duration // user + system, all threads
	rssKB int64
}

// readProc samples pid; pid 0 gives a zero sample (no server to watch).
func readProc(pid int) (procSample, error) {
	s := procSample{at: time.Now()}
	if pid == 0 {
		return s, nil
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("server cpu: %w", err)
	}
	cpu, err := parseStatCPU(stat)
	if err != nil {
		return s, err
	}
	s.cpu = cpu
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("server rss: %w", err)
	}
	s.rssKB, err = parseStatusRSS(status)
	return s, err
}

// parseStatCPU returns utime+stime from the contents of /proc/<pid>/stat.
// The command name (field 2) may contain spaces and parentheses, so fields
// are counted from the last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("server cpu: malformed stat %q", stat)
	}
	f := strings.Fields(string(stat[i+1:]))
	// After ')': field 3 (state) is f[0], so field n is f[n-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("server cpu: short stat %q", stat)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("server cpu: bad utime/stime in %q", stat)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// parseStatusRSS returns VmRSS in KiB from /proc/<pid>/status.
func parseStatusRSS(status []byte) (int64, error) {
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("server rss: no VmRSS in status")
}

// Server is what the server spent during a measured phase.
type Server struct {
	PID        int     `json:"pid,omitempty"`
	CPUSeconds float64 `json:"cpu_s"`
	WallS      float64 `json:"wall_s"`
	CPUUtil    float64 `json:"cpu_util"` // cores busy on average
	RSSBefore  int64   `json:"rss_before_kib"`
	RSSAfter   int64   `json:"rss_after_kib"`
}

func serverDelta(pid int, a, b procSample) Server {
	wall := b.at.Sub(a.at).Seconds()
	cpu := (b.cpu - a.cpu).Seconds()
	s := Server{PID: pid, CPUSeconds: round3(cpu), WallS: round3(wall), RSSBefore: a.rssKB, RSSAfter: b.rssKB}
	if wall > 0 {
		s.CPUUtil = round3(cpu / wall)
	}
	return s
}
