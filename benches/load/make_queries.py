#!/usr/bin/env python3
"""Distinct search texts drawn from a catalog (JSON lines on stdin), one per line on stdout.

Usage: stanok demo-catalog --count N --seed S | make_queries.py COUNT > queries.txt

Each text is what a buyer might type: two or three words of a product's name or category,
sometimes with a number from its attributes or its brand, in random order of kinds. Texts are
distinct (a set), so a load test walking the file never repeats one and no cache can help.
"""
import json
import random
import sys

count = int(sys.argv[1])
rng = random.Random(31)
docs = [json.loads(line) for line in sys.stdin if line.strip()]
words_of = []
for d in docs:
    words = [w.strip(",.()") for w in (d.get("name") or "").split()]
    words += [w.strip(",.()") for w in (d.get("category") or "").split()]
    words = [w for w in words if len(w) > 2]
    extras = [str(v) for v in (d.get("attributes") or {}).values() if isinstance(v, (int, float, str)) and len(str(v)) < 12]
    if d.get("brand"):
        extras.append(d["brand"])
    if words:
        words_of.append((words, extras))
seen = set()
out = sys.stdout
tries = 0
while len(seen) < count and tries < count * 50:
    tries += 1
    words, extras = rng.choice(words_of)
    k = min(len(words), rng.choice([2, 2, 3]))
    q = rng.sample(words, k)
    if extras and rng.random() < 0.5:
        q.append(rng.choice(extras))
    text = " ".join(q).lower() if rng.random() < 0.7 else " ".join(q)
    if text not in seen:
        seen.add(text)
        out.write(text + "\n")
if len(seen) < count:
    sys.exit(f"only {len(seen)} distinct texts from this catalog (asked for {count})")
