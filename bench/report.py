#!/usr/bin/env python3
"""Regenerate the load-test section of BENCHMARKS.md from bench/results/.

Reads one run directory (JSON files written by bench/run.sh through
cmd/xmppload), writes markdown tables that compare the servers, the
issue-9 target ratios, and a comparison of each server with the previous
recorded run that flags regressions (more than 10% worse). Each set of
server configurations (bench/servers, bench/servers/lean) has its own
section: only the text between its markers (<!-- xmppload:begin --> and
<!-- xmppload:end --> for bench/servers, <!-- xmppload:lean:begin -->
... for the lean set) is replaced; the markers are appended if absent.
"""
import argparse
import json
import os
import sys

# Each configuration set (run.json "configs") has its own section of the
# document between its own markers.
SECTIONS = {
    "bench/servers": ("xmppload", "like for like: archives, offline, carbons, privacy on in every server"),
    "bench/servers/lean": ("xmppload:lean", "the messaging core only: no one-to-one archive, offline, carbons or MUC history where a server can leave them out"),
}
# Runs made before configurations were recorded used bench/servers as it
# was then: xmppd with its defaults against ejabberd and Prosody without
# archives, offline storage or carbons — comparable with neither set.
UNRECORDED = "bench/servers (before like for like)"


def configs_of(run):
    return run["info"].get("configs", UNRECORDED)


def markers(configs):
    name = SECTIONS.get(configs, ("xmppload:" + configs.replace("/", "-"), ""))[0]
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
SERVERS = ["xmppd", "ejabberd", "prosody"]
THRESHOLD = 0.10
# bench/run.sh's default WORKLOADS: a run of fewer says so in its command.
ALL_WORKLOADS = "register idle chat chat-max muc roster-setup roster-storm"


def load_run(path):
    run = {"dir": path, "res": {}, "failed": {}}
    try:
        with open(os.path.join(path, "run.json")) as f:
            run["info"] = json.load(f)
    except (OSError, ValueError):
        run["info"] = {}
    for name in sorted(os.listdir(path)):
        if not name.endswith(".json") or name == "run.json":
            continue
        with open(os.path.join(path, name)) as f:
            d = json.load(f)
        server, _, tag = name[: -len(".json")].partition("-")
        if tag.endswith(".failed"):
            run["failed"][(server, tag[: -len(".failed")])] = d.get("error", "failed")
        else:
            run["res"][(server, tag)] = d
    return run


def get(run, server, tag, *path):
    d = run["res"].get((server, tag))
    if d is None:
        return None
    d = d.get("metrics")
    for p in path:
        if isinstance(d, list):
            d = d[p] if len(d) > p else None
        elif isinstance(d, dict):
            d = d.get(p)
        if d is None:
            return None
    return d


def fmt(v, digits=1):
    if v is None:
        return "—"
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def servers_in(run):
    present = {s for s, _ in run["res"]} | {s for s, _ in run["failed"]}
    return [s for s in SERVERS if s in present]


def failed_note(run, server, tag):
    e = run["failed"].get((server, tag))
    return f" (failed: {e[:80]})" if e else ""


# Metrics compared across runs: (label, tag, path, higher_is_better).
TRACKED = [
    ("idle logins/s", "idle", ("logins", "logins_per_s"), True),
    ("idle RSS per session (KiB)", "idle", ("rss_per_session_kib",), False),
    ("idle CPU per login (ms)", "idle", ("cpu_per_login_ms",), False),
    ("chat CPU per 10k msgs (s), 1st rate", "chat", ("runs", 0, "cpu_s_per_10k"), False),
    ("chat p99 (ms), 1st rate", "chat", ("runs", 0, "latency", "p99_ms"), False),
    ("chat max rate (msg/s)", "chat-max", ("max_passing_rate",), True),
    ("MUC CPU per 10k deliveries (s)", "muc", ("run", "cpu_s_per_10k"), False),
    ("MUC p99 (ms)", "muc", ("run", "latency", "p99_ms"), False),
    ("storm CPU per login (ms)", "roster-storm", ("cpu_per_login_ms",), False),
    ("storm logins/s", "roster-storm", ("logins", "logins_per_s"), True),
]

# Issue-9 targets: xmppd's value over the competitor's must be within.
TARGETS = [
    ("CPU per 10k one-to-one messages", "chat", ("runs", 0, "cpu_s_per_10k"), "ejabberd", "≤", 1 / 3),
    ("highest one-to-one rate, p99 ≤ 100 ms, no loss", "chat-max", ("max_passing_rate",), "ejabberd", "≥", 3),
    ("RSS per idle session", "idle", ("rss_per_session_kib",), "ejabberd", "≤", 1 / 4),
    ("RSS per idle session", "idle", ("rss_per_session_kib",), "prosody", "≤", 1 / 2),
    ("CPU per login", "idle", ("cpu_per_login_ms",), "ejabberd", "≤", 1 / 3),
    ("CPU per 10k MUC deliveries", "muc", ("run", "cpu_s_per_10k"), "ejabberd", "≤", 1 / 3),
    ("CPU per login, roster storm", "roster-storm", ("cpu_per_login_ms",), "ejabberd", "≤", 1 / 4),
]


def render(run, prev):
    info = run["info"]
    srv = servers_in(run)
    out = []
    w = out.append
    cfg = configs_of(run)
    what = SECTIONS.get(cfg, ("", ""))[1]
    w("## Load: xmppd, ejabberd and Prosody side by side" + (f" — {what}" if what else ""))
    w("")
    w(f"Run `{os.path.basename(run['dir'])}` of commit `{info.get('commit', '?')}` "
      f"(ejabberd {info.get('ejabberd', '?')}, Prosody {info.get('prosody', '?')}, {info.get('go', '?')}, "
      f"{info.get('nproc', '?')} cores). Each server pinned to core 0 with `taskset`, the load generator "
      "(`cmd/xmppload`) to core 1; STARTTLS and SCRAM-SHA-1 for every login; server CPU and RSS from "
      "`/proc/<pid>`. Configs: `" + cfg + "/`. Raw JSON: `bench/results/"
      f"{os.path.basename(run['dir'])}/`. The machine is shared with other work, so latencies are noisy; "
      "CPU per operation (from the server's own /proc counters) is the steadier figure.")
    w("")
    w("```")
    wl = info.get("workloads", ALL_WORKLOADS)
    w((f'WORKLOADS="{wl}" ' if wl != ALL_WORKLOADS else "") +
      f"STORM_USERS={info.get('storm_users', '?')} IDLE_USERS={info.get('idle_users', '?')} "
      f"CHAT_USERS={info.get('chat_users', '?')} CHAT_RATES={info.get('chat_rates', '?')} "
      + (f"CONFIGS={cfg} " if cfg != "bench/servers" else "") + "bench/run.sh")
    w("python3 bench/report.py   # regenerates this section from bench/results/")
    w("```")
    w("")
    w(f"### Idle sessions ({fmt(info.get('idle_users'))} users, logins 100 at a time, initial presence)")
    w("")
    w("| server | logged in | logins/s | login p50 | login p99 | RSS per session | CPU per login |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for s in srv:
        w(f"| {s}{failed_note(run, s, 'idle')} | {fmt(get(run, s, 'idle', 'logins', 'ok'))} | "
          f"{fmt(get(run, s, 'idle', 'logins', 'logins_per_s'))} | {fmt(get(run, s, 'idle', 'logins', 'latency', 'p50_ms'))} ms | "
          f"{fmt(get(run, s, 'idle', 'logins', 'latency', 'p99_ms'))} ms | {fmt(get(run, s, 'idle', 'rss_per_session_kib'))} KiB | "
          f"{fmt(get(run, s, 'idle', 'cpu_per_login_ms'), 2)} ms |")
    w("")
    w(f"### One-to-one chat ({fmt(info.get('chat_users'))} users, random pairs, fixed aggregate rate)")
    w("")
    w("Latency is from the scheduled send time to receipt, so a server that falls behind shows it.")
    w("")
    w("| server | rate | sent | delivered | lost | p50 | p90 | p99 | p99.9 | max | server CPU | CPU s per 10k |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in srv:
        for r in get(run, s, "chat", "runs") or []:
            l = r["latency"]
            w(f"| {s} | {fmt(r['target_rate'], 0)} | {fmt(r['sent'])} | {fmt(r['delivered'])} | {fmt(r['lost'])} | "
              f"{fmt(l['p50_ms'], 2)} ms | {fmt(l['p90_ms'], 2)} ms | {fmt(l['p99_ms'], 1)} ms | {fmt(l['p99_9_ms'], 1)} ms | "
              f"{fmt(l['max_ms'], 1)} ms | {fmt(r['server']['cpu_util'] * 100, 0)}% | {fmt(r['cpu_s_per_10k'], 3)} |")
        if (s, "chat") in run["failed"]:
            w(f"| {s}{failed_note(run, s, 'chat')} | | | | | | | | | | | |")
    w("")
    w("### Highest one-to-one rate (p99 ≤ 100 ms, nothing lost; ×1.5 steps of 5 s)")
    w("")
    w("| server | max passing rate | first failing step |")
    w("|---|---:|---|")
    for s in srv:
        runs = get(run, s, "chat-max", "runs") or []
        fail = next((r for r in runs if not r.get("pass")), None)
        why = "—"
        if fail:
            why = (f"{fmt(fail['target_rate'], 0)}/s: p99 {fmt(fail['latency']['p99_ms'])} ms, lost {fail['lost']}, "
                   f"sent at {fmt(fail['achieved_send_rate'], 0)}/s, server CPU {fmt(fail['server']['cpu_util'] * 100, 0)}%")
            if fail.get("generator_cpu_util") is not None:
                why += f", load generator CPU {fmt(fail['generator_cpu_util'] * 100, 0)}%"
        w(f"| {s}{failed_note(run, s, 'chat-max')} | {fmt(get(run, s, 'chat-max', 'max_passing_rate'), 0)} | {why} |")
    w("")
    w(f"### MUC fan-out ({info.get('muc', '?')} rooms × occupants, XEP-0045)")
    w("")
    w("| server | msgs/s | deliveries | lost | deliveries/s | p50 | p99 | max | CPU s per 10k deliveries |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in srv:
        r = get(run, s, "muc", "run")
        if r is None:
            w(f"| {s}{failed_note(run, s, 'muc')} | — | — | — | — | — | — | — | — |")
            continue
        l = r["latency"]
        w(f"| {s} | {fmt(r['target_rate'], 0)} | {fmt(r['delivered'])} / {fmt(r['expected_deliveries'])} | {fmt(r['lost'])} | "
          f"{fmt(r['delivered_per_s'], 0)} | {fmt(l['p50_ms'], 2)} ms | {fmt(l['p99_ms'])} ms | {fmt(l['max_ms'])} ms | {fmt(r['cpu_s_per_10k'], 3)} |")
    w("")
    w(f"### Roster login storm ({fmt(info.get('storm_users'))} users × 50 mutual contacts, all at once: roster get, then presence)")
    w("")
    w("| server | logins/s | login p50 | login p99 | roster items | contacts' presence seen / expected (stanzas) | all presence after | CPU per login | provisioning |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in srv:
        g = lambda *p: get(run, s, "roster-storm", *p)
        setup = get(run, s, "roster-setup", "wall_s")
        w(f"| {s}{failed_note(run, s, 'roster-storm')} | {fmt(g('logins', 'logins_per_s'))} | {fmt(g('logins', 'latency', 'p50_ms'), 0)} ms | "
          f"{fmt(g('logins', 'latency', 'p99_ms'), 0)} ms | {fmt(g('roster_items_min'))} | {fmt(g('presence_distinct'))} / {fmt(g('presence_want'))} ({fmt(g('presence_received'))}) | "
          f"{fmt(g('all_presence_after_s'), 2)} s | {fmt(g('cpu_per_login_ms'), 2)} ms | {fmt(setup, 0)} s{failed_note(run, s, 'roster-setup')} |")
    w("")
    w("### Targets (issue 9): xmppd ÷ competitor, same run")
    w("")
    w("| target | vs | xmppd | theirs | ratio | wanted | met |")
    w("|---|---|---:|---:|---:|---:|---|")
    for label, tag, path, other, op, want in TARGETS:
        a, b = get(run, "xmppd", tag, *path), get(run, other, tag, *path)
        if tag == "chat-max" and a is not None and b is None:
            # The competitor failed the first step: its highest rate is
            # below that step's, so the ratio is at least a / step.
            first = (get(run, other, "chat-max", "runs") or [None])[0]
            if first is not None and not first.get("pass"):
                bound = a / first["target_rate"]
                ok = bound >= want
                w(f"| {label} | {other} | {fmt(a, 3)} | < {fmt(first['target_rate'], 0)} | > {bound:.2f} | {op} {want:.2f} | "
                  f"{'yes' if ok else 'not shown'} |")
                continue
        if a is None or b is None or b == 0:
            w(f"| {label} | {other} | {fmt(a, 3)} | {fmt(b, 3)} | — | {op} {want:.2f} | not measured |")
            continue
        ratio = a / b
        ok = ratio <= want if op == "≤" else ratio >= want
        w(f"| {label} | {other} | {fmt(a, 3)} | {fmt(b, 3)} | {ratio:.2f} | {op} {want:.2f} | {'yes' if ok else 'no'} |")
    w("")
    w("### Against the previous recorded run")
    w("")
    if prev is None:
        w("No earlier run with these configurations is recorded under `bench/results/`; "
          "the next one compares with this one.")
    else:
        w(f"Previous: `{os.path.basename(prev['dir'])}` (commit `{prev['info'].get('commit', '?')}`). "
          f"**REGRESSION** marks a value more than {THRESHOLD:.0%} worse.")
        w("")
        w("| server | metric | previous | this run | change | |")
        w("|---|---|---:|---:|---:|---|")
        for s in srv:
            for label, tag, path, higher in TRACKED:
                a, b = get(prev, s, tag, *path), get(run, s, tag, *path)
                if a is None or b is None:
                    continue
                change = (b - a) / a if a else 0.0
                worse = -change if higher else change
                flag = "**REGRESSION**" if worse > THRESHOLD else ""
                w(f"| {s} | {label} | {fmt(a, 3)} | {fmt(b, 3)} | {change:+.0%} | {flag} |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--results", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    ap.add_argument("--run", help="run directory name (default: the newest)")
    ap.add_argument("--doc", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "BENCHMARKS.md"))
    args = ap.parse_args()
    runs = sorted(d for d in os.listdir(args.results) if os.path.isfile(os.path.join(args.results, d, "run.json")))
    if not runs:
        sys.exit("report: no runs under " + args.results)
    name = args.run or runs[-1]
    if name not in runs:
        sys.exit(f"report: no run {name} under {args.results}")
    i = runs.index(name)
    run = load_run(os.path.join(args.results, name))
    # The previous run with the same configurations: other sets measure
    # other work and would flag differences that are not regressions.
    prev = None
    for earlier in reversed(runs[:i]):
        cand = load_run(os.path.join(args.results, earlier))
        if configs_of(cand) == configs_of(run):
            prev = cand
            break
    section = render(run, prev)
    try:
        with open(args.doc) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = ""  # a new document: just the section
    begin, end = markers(configs_of(run))
    block = begin + "\n" + section + end
    if begin in doc and end in doc:
        head, rest = doc.split(begin, 1)
        _, tail = rest.split(end, 1)
        doc = head + block + tail
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    with open(args.doc, "w") as f:
        f.write(doc)
    print(f"report: {name} written to {args.doc}")


if __name__ == "__main__":
    main()
