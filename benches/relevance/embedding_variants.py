#!/usr/bin/env python3
"""What the embedding model should read of a card: embeds the catalog under several card texts
with the project's own model and scores them on the development queries, per fold.

    stanok eval --queries Q --qrels R --mode hybrid --dump-lists lists.jsonl
    PY=~/.cache/stanok/venv/bin/python; $PY -m pip install tokenizers   # once
    $PY benches/relevance/embedding_variants.py lists.jsonl R CATALOG [--variants full,title]

For each card text (`VARIANTS`) and for the maximum over several (one vector per text, a card
scoring by its best: "multi-vector cards"), it reports

* semantic nDCG@10 per fold and type: exact search over every card, the query embedded from the
  dump's `semantic_text` (the repaired text the engine embeds);
* hybrid nDCG@10 per fold: the dump's lists with the semantic list recomputed as the engine
  computes it (the query plus twice the mean vector of the first two lexical hits; for a query
  whose code pinned a card, that card's neighbours), fused by `fusion_grid.fuse`.

Vectors are cached under --cache (one .npy per variant). The model is the int8 ONNX file that
`scripts/setup.sh model` builds into MODEL_DIR; the engine reads the same file, but its vectors
come from an HNSW walk, so the `full` row is close to, not equal to, `stanok eval`.
Results of stop 44 are in benches/results/relevance-folds.md.
"""
import argparse
import collections
import copy
import json
import math
import os
import sys

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fusion_grid as fg  # noqa: E402


def compat(d):
    return ". Для станков " + ", ".join(d["compatible_models"]) if d["compatible_models"] else ""


def card_fields(d, name):
    return ". ".join(p for p in [name, d["category"], d["brand"], d["model"]] if p)


VARIANTS = {
    # What the engine embeds today (`CatalogDoc::embedding_text`).
    "full": lambda d: card_fields(d, d["name"]) + ". " + d["description"],
    "short": lambda d: card_fields(d, d["name"]),
    "desc": lambda d: d["description"],
    "title": lambda d: d["name"] + " " + d["sku"] + compat(d),
    "attr": lambda d: d["name"] + ". " + "; ".join(
        f"{k.replace('_', ' ')} {v}" for k, v in d["attributes"].items()),
    "fullsku": lambda d: card_fields(d, d["name"] + " " + d["sku"]) + ". " + d["description"],
    "fullskucompat": lambda d: card_fields(d, d["name"] + " " + d["sku"]) + compat(d) + ". "
    + d["description"],
}


class Model:
    def __init__(self, model_dir):
        self.tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        self.tok.enable_truncation(512)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = os.cpu_count() or 1
        self.sess = ort.InferenceSession(os.path.join(model_dir, "model_int8.onnx"), opts)

    def embed(self, texts, batch=32):
        """Mean-pooled, unit-length vectors, as `OnnxEmbedder::run_batch`."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            enc = self.tok.encode_batch([texts[i] for i in idx])
            width = max(len(e.ids) for e in enc)
            ids = np.ones((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for j, e in enumerate(enc):
                ids[j, :len(e.ids)] = e.ids
                mask[j, :len(e.ids)] = 1
            hidden = self.sess.run(["last_hidden_state"], {
                "input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
            v = (hidden * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
            out[idx] = v / np.linalg.norm(v, axis=1, keepdims=True)
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dump")
    ap.add_argument("qrels")
    ap.add_argument("catalog")
    ap.add_argument("--model-dir", default=os.environ.get(
        "MODEL_DIR", os.path.expanduser("~/.cache/stanok/model")))
    ap.add_argument("--cache", default="/tmp/stanok-embedding-variants")
    ap.add_argument("--variants", default="full,fullsku,fullskucompat,full+title,full+title+desc")
    args = ap.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    model = Model(args.model_dir)
    docs = [json.loads(line) for line in open(args.catalog, encoding="utf-8")]
    ids = [d["id"] for d in docs]
    at = {d: i for i, d in enumerate(ids)}
    dump = [q for q in fg.load_dump(args.dump) if q["mode"] == "hybrid"]
    qrels = fg.load_qrels(args.qrels)
    fold_of = fg.folds(dump)
    queries = model.embed(["query: " + q["semantic_text"] for q in dump])

    vectors = {}

    def card_vectors(name):
        if name not in vectors:
            path = os.path.join(args.cache, f"{name}.npy")
            if not os.path.exists(path):
                np.save(path, model.embed(["passage: " + VARIANTS[name](d) for d in docs]))
            vectors[name] = np.load(path)
        return vectors[name]

    for spec in args.variants.split(","):
        parts = [card_vectors(p) for p in spec.split("+")]
        score = lambda v: np.maximum.reduce([m @ v for m in parts])
        primary = parts[0]
        per = collections.defaultdict(list)
        hybrid = []
        for qi, q in enumerate(dump):
            judged = qrels.get(q["qid"], {})
            top = np.argsort(-score(queries[qi]))[:10]
            v = fg.ndcg10([ids[t] for t in top], judged)
            per[(fold_of[q["qid"]], q["type"])].append(v)
            per[(fold_of[q["qid"]], "ALL")].append(v)
            line = copy.deepcopy(q)
            sem = q["semantic"]
            if sem:
                base = queries[qi]
                if q["pinned"] and sem[0][0] == q["pinned"][0] and abs(sem[0][1] - 1.0) < 1e-3:
                    base = primary[at[q["pinned"][0]]]
                elif q["lexical"]:
                    firsts = [at[d] for d, _ in q["lexical"][:2]]
                    base = base + 2.0 * primary[firsts].mean(0)
                    base = base / np.linalg.norm(base)
                s = score(base)
                line["semantic"] = [[ids[t], float(s[t])] for t in np.argsort(-s)[:100]]
            hybrid.append(line)
        h, _ = fg.evaluate(hybrid, qrels, fold_of, fg.DEFAULTS)
        mean = lambda xs: sum(xs) / len(xs)
        print(f"{spec:24s} semantic fold 1 {mean(per[(1, 'ALL')]):.3f} fold 2 {mean(per[(2, 'ALL')]):.3f}"
              f"   hybrid fold 1 {h[1]:.4f} fold 2 {h[2]:.4f}")
        types = sorted({t for _, t in per if t != "ALL"})
        print("    " + "  ".join(f"{t} {mean(per[(1, t)]):.2f}/{mean(per[(2, t)]):.2f}" for t in types))


if __name__ == "__main__":
    main()
