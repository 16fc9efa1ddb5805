#!/usr/bin/env python3
"""Replays the engine's hybrid fusion over dumped lists and searches its parameters on one fold.

    stanok eval --queries Q --qrels R --mode hybrid --dump-lists lists.jsonl
    python3 benches/relevance/fusion_grid.py lists.jsonl R [--tune-fold 1]

The dump holds, per development query, what `compose` fuses: the lexical candidates (top 200)
with their lexical scores, the semantic neighbours with their cosines, the pins and the
semantic list's weight for that query (the engine's weight times its Latin / exact-code
factors). This script fuses them exactly as `search_core::fusion::fuse` does (reciprocal ranks
plus the score terms; pins first), checks that the default parameters reproduce the engine's
nDCG@10, then scores a grid on the tuning fold and reports the best points on both folds.
Folds as `stanok eval --fold K/2`: per query type, in id order, alternating. Standard library
only.
"""
import argparse
import collections
import itertools
import json
import math

DEFAULTS = dict(k=3.0, semantic=1.0, score=0.2, power=4.0, cosine=0.5)
ENGINE_SEMANTIC_WEIGHT = DEFAULTS["semantic"]


def load_dump(path):
    return [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]


def load_qrels(path):
    qrels = collections.defaultdict(dict)
    for line in open(path, encoding="utf-8"):
        parts = line.split()
        if len(parts) == 3:
            qrels[parts[0]][parts[1]] = int(parts[2])
    return qrels


def folds(queries):
    """qid -> fold (1 or 2), as `EvalSet::fold`."""
    by_type = collections.defaultdict(list)
    for q in queries:
        by_type[q["type"]].append(q["qid"])
    out = {}
    for qids in by_type.values():
        for i, qid in enumerate(sorted(qids)):
            out[qid] = 1 + i % 2
    return out


def ndcg10(ranked, judged):
    gain = lambda g: 2.0**g - 1.0
    dcg = sum(gain(judged.get(d, 0)) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted(judged.values(), reverse=True)[:10]
    idcg = sum(gain(g) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def fuse(q, k, semantic, score, power, cosine):
    """The first page of `compose` in hybrid mode (pins, then the fused lists)."""
    # The dumped weight already carries the query's factors; rescale it to this semantic weight.
    w_sem = q["semantic_weight"] * semantic / ENGINE_SEMANTIC_WEIGHT
    scores, first = {}, {}

    def add(doc, value):
        scores[doc] = scores.get(doc, 0.0) + value
        first.setdefault(doc, len(first))

    lexical = q["lexical"]
    best = lexical[0][1] if lexical else 0.0
    for rank, (doc, s) in enumerate(lexical):
        ratio = min(max(s / best, 0.0), 1.0) if best > 0 else 0.0
        add(doc, 1.0 / (k + rank + 1) + (score * ratio**power if best > 0 else 0.0))
    sem = q["semantic"]
    top = sem[0][1] if sem else 0.0
    for rank, (doc, c) in enumerate(sem):
        add(doc, w_sem / (k + rank + 1) + cosine * w_sem * min(c - top, 0.0))
    fused = sorted(scores, key=lambda d: (-scores[d], first[d]))
    pins = q["pinned"]
    pinned = set(pins)
    return (pins + [d for d in fused if d not in pinned])[:10]


def evaluate(dump, qrels, fold_of, params):
    per_fold = collections.defaultdict(list)
    per_type = collections.defaultdict(list)
    for q in dump:
        v = ndcg10(fuse(q, **params), qrels.get(q["qid"], {}))
        per_fold[fold_of[q["qid"]]].append(v)
        per_type[(fold_of[q["qid"]], q["type"])].append(v)
    mean = lambda xs: sum(xs) / len(xs) if xs else 0.0
    return {f: mean(v) for f, v in per_fold.items()}, {t: mean(v) for t, v in per_type.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dump")
    ap.add_argument("qrels")
    ap.add_argument("--tune-fold", type=int, default=1, choices=(1, 2))
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args()
    dump = [q for q in load_dump(args.dump) if q["mode"] == "hybrid"]
    qrels = load_qrels(args.qrels)
    fold_of = folds(dump)
    other = 3 - args.tune_fold

    base, base_types = evaluate(dump, qrels, fold_of, DEFAULTS)
    print(f"defaults {DEFAULTS}: fold 1 {base.get(1, 0):.4f}, fold 2 {base.get(2, 0):.4f} "
          "(compare with `stanok eval --fold K/2`, hybrid ALL)")
    rank_only = dict(DEFAULTS, score=0.0, cosine=0.0, semantic=0.8)
    r, _ = evaluate(dump, qrels, fold_of, rank_only)
    print(f"rank-only RRF (k 3, semantic 0.8): fold 1 {r.get(1, 0):.4f}, fold 2 {r.get(2, 0):.4f}")

    grid = dict(k=(2.0, 3.0, 5.0), semantic=(0.6, 0.8, 1.0), score=(0.0, 0.05, 0.1, 0.2, 0.3),
                power=(1.0, 2.0, 4.0), cosine=(0.0, 0.5, 1.0, 2.0))
    rows = []
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid.keys(), values))
        folds_, _ = evaluate(dump, qrels, fold_of, params)
        rows.append((folds_.get(args.tune_fold, 0), folds_.get(other, 0), params))
    rows.sort(key=lambda r: -r[0])
    print(f"\nbest {args.top} of {len(rows)} on fold {args.tune_fold} (reported: fold {other})")
    for tuned, held, params in rows[: args.top]:
        print(f"  fold {args.tune_fold} {tuned:.4f}  fold {other} {held:.4f}  {params}")
    print("\nper type at the defaults (fold: type nDCG@10)")
    for (f, t), v in sorted(base_types.items()):
        print(f"  {f}: {t:12s} {v:.3f}")


if __name__ == "__main__":
    main()
