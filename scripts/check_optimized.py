#!/usr/bin/env python3
"""By-hand check of `hawkeye optimize` results on real torch.onnx.export files.

For each case: `hawkeye optimize FILE -f FRAMEWORK [--weights public] -o OUT.onnx`, then the
original and the optimized file are run in onnxruntime on the same input (the export's own
`NAME.input.npy` when there is one, else a seeded standard-normal draw) and compared
(max |optimized - original| / max |original|, must be <= 1e-4), the interface (input and
output names, shapes) is compared, and both files are given to CrypTen's
`crypten.nn.from_onnx`. Prints a Markdown table (the one in README.md, "Optimizer").

Needs onnxruntime, onnx, numpy, torch and crypten (the ground-truth venv has onnxruntime
1.16.3, CrypTen 0.4.1, torch 1.13.1):

    /work/gt/.venv/bin/python scripts/check_optimized.py --hawkeye target/release/hawkeye \
        --exports /work/gt/realworld/onnx

Exit status 1 when a result differs by more than 1e-4, changes the interface, or does not
load in CrypTen where the original does.
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

TOLERANCE = 1e-4

# (file, framework, weights); files are looked up in --exports, then in
# tests/fixtures/onnx/realworld and tests/fixtures/onnx.
CASES = [
    ("cifar_cnn_bn.onnx", "spu-semi2k", "public"),
    ("resblock_bn.onnx", "spu-semi2k", "public"),
    ("resnet18_bn.onnx", "spu-semi2k", "public"),
    ("resnet18_bn.onnx", "crypten", "public"),
    ("mobilenet_v2_bn.onnx", "spu-semi2k", "public"),
    ("mobilenet_v2_bn.onnx", "crypten", "public"),
    ("mobilenet_v2.onnx", "spu-semi2k", "public"),
    ("bert_layer.onnx", "spu-semi2k", "public"),
    ("bert_layer.onnx", "crypten", None),
    ("bert_layer_op14.onnx", "spu-semi2k", "public"),
    ("bert_layer_op14.onnx", "crypten", None),
    ("bert_encoder.onnx", "spu-semi2k", "public"),
    ("bert_encoder_op14.onnx", "spu-semi2k", "public"),
    ("bert_encoder_op14.onnx", "crypten", None),
]


def find(name, roots):
    for root in roots:
        path = os.path.join(root, name)
        if os.path.exists(path):
            return path
    return None


def interface(path):
    m = onnx.load(path, load_external_data=False)
    init = {i.name for i in m.graph.initializer}

    def dims(v):
        return [d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim]

    return (
        [(v.name, dims(v)) for v in m.graph.input if v.name not in init],
        [(v.name, dims(v)) for v in m.graph.output],
    )


def feeds(path, session):
    stem = path[: -len(".onnx")]
    inputs = session.get_inputs()
    given = stem + ".input.npy"
    if len(inputs) == 1 and os.path.exists(given):
        return {inputs[0].name: np.load(given)}, "given"
    rng = np.random.default_rng(0)
    out = {}
    for i in inputs:
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        if "int" in i.type:
            out[i.name] = rng.integers(0, 100, size=shape).astype(np.int64)
        else:
            out[i.name] = rng.standard_normal(shape).astype(np.float32)
    return out, "seeded random"


def run(path, inputs):
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return [np.asarray(o, dtype=np.float64) for o in s.run(None, inputs)]


def crypten_loads(path):
    import crypten
    import crypten.nn

    try:
        with open(path, "rb") as f:
            crypten.nn.from_onnx(io.BytesIO(f.read()))
        return "loads"
    except Exception as e:  # CrypTen raises bare ValueError/KeyError/... for refusals
        text = str(e).splitlines()[0] if str(e) else type(e).__name__
        return f"refuses: {text[:70]}"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hawkeye", default="target/release/hawkeye")
    p.add_argument("--exports", default="/work/gt/realworld/onnx")
    p.add_argument("--no-crypten", action="store_true")
    a = p.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    roots = [
        a.exports,
        os.path.join(here, "tests/fixtures/onnx/realworld"),
        os.path.join(here, "tests/fixtures/onnx"),
    ]
    if not a.no_crypten:
        import crypten

        crypten.init()
    failed = False
    print(
        "| export | opset | framework | weights | nodes before -> after | online change "
        "| max relative difference | interface | CrypTen `from_onnx` original / optimized |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, framework, weights in CASES:
            path = find(name, roots)
            if path is None:
                print(f"| {name} | | {framework} | | not found in {roots} | | | | |")
                failed = True
                continue
            out = os.path.join(tmp, f"{framework}-{name}")
            cmd = [a.hawkeye, "optimize", path, "-f", framework, "-o", out, "--format", "json"]
            if weights:
                cmd += ["--weights", weights]
            given = path[: -len(".onnx")] + ".input.npy"
            if os.path.exists(given):
                cmd += ["--inputs", given]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"| {name} | | {framework} | {weights or 'default'} | hawkeye failed: "
                      f"{r.stderr.strip().splitlines()[-1]} | | | | |")
                failed = True
                continue
            report = json.loads(r.stdout)
            before = report["before"]["online_bits"]
            after = report["after"]["online_bits"]
            if not os.path.exists(out):
                print(f"| {name} | | {framework} | {weights or 'default'} | nothing written "
                      f"| {100 * (after - before) / before:+.1f}% | | | |")
                continue
            session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            x, _ = feeds(path, session)
            ref = run(path, x)
            res = run(out, x)
            scale = max(float(np.max(np.abs(o))) for o in ref)
            diff = max(float(np.max(np.abs(o - q))) for o, q in zip(ref, res))
            rel = diff / scale if scale > 0 else diff
            same_interface = interface(path) == interface(out)
            m0 = onnx.load(path, load_external_data=False)
            m1 = onnx.load(out, load_external_data=False)
            if a.no_crypten:
                loads = ("-", "-")
            else:
                loads = (crypten_loads(path), crypten_loads(out))
            bad = (
                rel > TOLERANCE
                or not same_interface
                or (loads[0] == "loads" and loads[1] != "loads")
            )
            failed |= bad
            print(
                f"| {name} | {m0.opset_import[0].version} | {framework} | {weights or 'default'} "
                f"| {len(m0.graph.node)} -> {len(m1.graph.node)} "
                f"| {100 * (after - before) / before:+.1f}% | {rel:.1e} "
                f"| {'kept' if same_interface else 'CHANGED'} | {loads[0]} / {loads[1]} |"
            )
            sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
