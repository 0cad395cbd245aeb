#!/usr/bin/env python3
"""Prepare the list-in-list workload through the running service's own API.

For the first --users users of tokens.txt (seed.py): 20 lists each, 500 tasks
filed into the first of them and one into each of the others, so that the
workload (bench/wrk/list-in-list.lua) reads one list of 500 tasks among 20
lists in manual order. Writes list_ids.txt (user_id<TAB>list id of the big list)
next to tokens.txt. Through the API rather than COPY: the tasks get the order
keys, list ids and foreign keys the service itself writes, and a build without
lists fails here at once. reseed.sh and sqliteseed empty the tasks table, so
run this after them, right before the workload.

usage: listinlist.py BASE_URL [--out DIR] [--users N]
Standard library only.
"""
import argparse
import http.client
import json
import os
import sys
import time
import urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("base_url")
ap.add_argument("--out", default=os.environ.get("BENCH_OUT", os.path.join(os.path.dirname(__file__), "out")))
ap.add_argument("--users", type=int, default=20)
args = ap.parse_args()

u = urllib.parse.urlparse(args.base_url)
conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)


def post(user, token, path, body):
    # All of it comes from one address, faster than the per-address rate limit
    # refills on a fast day: a 429 is waited out as its Retry-After says.
    for _ in range(60):
        conn.request("POST", f"/api/{urllib.parse.quote(user, safe='')}{path}", json.dumps(body),
                     {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        res = conn.getresponse()
        raw = res.read()
        if res.status != 429:
            break
        time.sleep(float(res.getheader("Retry-After") or 1))
    if res.status != 201:
        sys.exit(f"listinlist: POST {path}: {res.status} {raw[:300]!r}")
    return json.loads(raw)


pairs = []
with open(os.path.join(args.out, "tokens.txt")) as f:
    for line in f:
        user, token = line.rstrip("\n").split("\t")[:2]
        pairs.append((user, token))
pairs = pairs[: args.users]
start = time.time()
out = []
stamp = str(int(start))  # list names are unique per user: a second run adds new lists
for user, token in pairs:
    ids = [post(user, token, "/lists", {"name": f"bench {stamp} list {n}"})["id"] for n in range(20)]
    for n in range(500):
        post(user, token, "/tasks", {"title": f"step {n} of the big list", "list_id": ids[0],
                                     "priority": ["low", "medium", "high"][n % 3]})
    for other in ids[1:]:
        post(user, token, "/tasks", {"title": "the only task of this list", "list_id": other})
    out.append(f"{user}\t{ids[0]}\n")
with open(os.path.join(args.out, "list_ids.txt"), "w") as f:
    f.writelines(out)
print(f"listinlist: {len(pairs)} users x 20 lists, 500 tasks in the first, in {time.time() - start:.1f} s", file=sys.stderr)
