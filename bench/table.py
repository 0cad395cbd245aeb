#!/usr/bin/env python3
"""Print the tables of one bench/run.sh run from bench/out/results.tsv (markdown).

usage: table.py [--since ISO_DATE] [results.tsv]

PostgreSQL: the service (todo-api-pg) beside the pgbench ceiling for the same SQL
(pg-prepared, and pg-extended when measured), with the ratios issue 7 sets targets
for: req/s >= 60 % of the ceiling, p99 <= 3 x the ceiling's p99, zero errors, peak
RSS <= 60 MB under mixed.
SQLite: the service (todo-api-sqlite) beside PocketBase's figures from issue 7 (the
upper end of each range) and the target, 2 x those, with the mixed p99 <= 250 ms.
The last column of each is the CPU share other processes took during the measurement
(lib.sh): above 5 % the row was measured on a busy machine. CPU µs/req is the
service's own CPU time per request during the measurement.
"""
import argparse
import csv
import os
import sys

WORKLOADS = ["list", "get", "create", "toggle", "mixed"]
# PocketBase v0.39.11 on the same data and machine (issue 7): upper end of each range.
POCKETBASE = {"list": 405, "get": 2350, "create": 1220, "toggle": 1090, "mixed": 650}
SQLITE_MIXED_P99_MS = 250
RSS_LIMIT_MB = 60


def load(path, since):
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["date"] >= since]
    latest = {}
    for r in rows:
        latest[(r["name"], r["workload"])] = r  # the last measurement wins
    return latest


def num(r, k):
    try:
        return float(r[k])
    except (KeyError, TypeError, ValueError):
        return None


def noise(*rs):
    return " / ".join((r.get("foreign_cpu_pct") or "n/a") if r else "-" for r in rs)


def pg_table(latest, out):
    svc = {w: latest.get(("todo-api-pg", w)) for w in WORKLOADS}
    if not any(svc.values()):
        return
    modes = [m for m in ("prepared", "extended") if any(latest.get((f"pg-{m}", w)) for w in WORKLOADS)]
    out.append("PostgreSQL: the service and the pgbench ceiling for the same SQL, same run\n")
    head = "| workload | req/s | p50 ms | p99 ms | errors | peak RSS MiB | CPU µs/req |"
    sep = "|---|--:|--:|--:|--:|--:|--:|"
    for m in modes:
        head += f" pgbench {m} TPS | its p99 ms | req/s ÷ TPS | p99 ÷ its p99 |"
        sep += "--:|--:|--:|--:|"
    head += " foreign CPU % (service / ceilings) |"
    sep += "--:|"
    out += [head, sep]
    for w in WORKLOADS:
        r = svc[w]
        if not r:
            continue
        line = f"| {w} | {num(r, 'rps'):,.0f} | {num(r, 'p50_ms'):.1f} | {num(r, 'p99_ms'):.1f} | {r['errors']} | {r['rss_mb']} | {r.get('cpu_us_per_req') or '-'} |"
        ceil_rows = []
        for m in modes:
            c = latest.get((f"pg-{m}", w))
            ceil_rows.append(c)
            if not c:
                line += " - | - | - | - |"
                continue
            tps, cp99 = num(c, "rps"), num(c, "p99_ms")
            ratio = num(r, "rps") / tps if tps else None
            p99r = num(r, "p99_ms") / cp99 if cp99 else None
            line += f" {tps:,.0f} | {cp99:.1f} | {ratio:.0%} {'✓' if ratio and ratio >= 0.6 else '✗'} | {p99r:.1f}× {'✓' if p99r and p99r <= 3 else '✗'} |"
        line += f" {noise(r, *ceil_rows)} |"
        out.append(line)
    m = svc.get("mixed")
    if m:
        rss = num(m, "rss_mb")
        out.append(f"\nPeak RSS under mixed: {m['rss_mb']} MiB (target ≤ {RSS_LIMIT_MB} MB: {'✓' if rss is not None and rss * 1.048576 <= RSS_LIMIT_MB else '✗'})")
    out.append("")


def sqlite_table(latest, out):
    svc = {w: latest.get(("todo-api-sqlite", w)) for w in WORKLOADS}
    if not any(svc.values()):
        return
    out.append("SQLite: the service against PocketBase (issue 7 figures; target 2×, mixed p99 ≤ 250 ms)\n")
    out.append("| workload | req/s | p50 ms | p99 ms | errors | peak RSS MiB | CPU µs/req | PocketBase req/s | target req/s | × PocketBase | foreign CPU % |")
    out.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for w in WORKLOADS:
        r = svc[w]
        if not r:
            continue
        pb = POCKETBASE[w]
        x = num(r, "rps") / pb
        ok = x >= 2 and (w != "mixed" or num(r, "p99_ms") <= SQLITE_MIXED_P99_MS)
        out.append(f"| {w} | {num(r, 'rps'):,.0f} | {num(r, 'p50_ms'):.1f} | {num(r, 'p99_ms'):.1f} | {r['errors']} | {r['rss_mb']} | {r.get('cpu_us_per_req') or '-'} | "
                   f"{pb:,} | {2 * pb:,} | {x:.1f}× {'✓' if ok else '✗'} | {noise(r)} |")
    out.append("")


def other_table(latest, out):
    names = sorted({n for n, _ in latest} - {"todo-api-pg", "todo-api-sqlite", "pg-prepared", "pg-extended", "pg-simple"})
    if not names:
        return
    out.append("Other targets in this run\n")
    out.append("| target | workload | req/s | p50 ms | p99 ms | errors | peak RSS MiB | foreign CPU % |")
    out.append("|---|---|--:|--:|--:|--:|--:|--:|")
    for n in names:
        for w in WORKLOADS:
            r = latest.get((n, w))
            if r:
                out.append(f"| {n} | {w} | {num(r, 'rps'):,.0f} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} | {r['rss_mb']} | {noise(r)} |")
    out.append("")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--since", default="")
    ap.add_argument("path", nargs="?", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "results.tsv"))
    a = ap.parse_args()
    latest = load(a.path, a.since)
    if not latest:
        sys.exit("no rows")
    out = []
    pg_table(latest, out)
    sqlite_table(latest, out)
    other_table(latest, out)
    print("\n".join(out))


if __name__ == "__main__":
    main()
