"""Tests of the Python package hawkeye_mpc: every function on zoo models, ONNX files and ONNX
bytes, exact figures against measured CrypTen runs and against the command line, and errors.

The command-line comparisons need the `hawkeye` binary: `.ci/run` sets HAWKEYE_BIN to the one
`cargo test --release` built; without it those tests are skipped."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import hawkeye_mpc as h

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
GROUNDTRUTH = FIXTURES / "groundtruth" / "results"
HAWKEYE_BIN = os.environ.get("HAWKEYE_BIN") or shutil.which("hawkeye")

needs_cli = pytest.mark.skipif(HAWKEYE_BIN is None, reason="no hawkeye binary (set HAWKEYE_BIN)")


def cli_json(*args):
    out = subprocess.run([HAWKEYE_BIN, *args, "--format", "json"], check=True, capture_output=True)
    return json.loads(out.stdout)


def measured(framework_dir, name):
    text = (GROUNDTRUTH / framework_dir / f"{name}.json").read_text()
    for bad in (": -Infinity", ": Infinity", ": NaN"):
        text = text.replace(bad, ": null")
    return json.loads(text)


def tiny_onnx_bytes(n=1000):
    """An ONNX model built with the onnx package: y = relu(x) on n secret values."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="/act/Relu")], "tiny", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


# --- profile -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["c_lenet_b1", "d_relu_1000", "a_mlp_b1"])
def test_profile_onnx_file_is_exact_against_crypten(name):
    m = measured("crypten", name)["total"]
    p = h.profile(FIXTURES / "onnx" / "groundtruth" / f"{name}.onnx", "crypten")
    assert p.online_bytes == m["bytes_sent_total"]
    assert p.online_rounds == m["rounds"]
    assert p.per_party_online_bytes == [b / 2 for b in m["crypten_bytes_per_party"]]


def test_profile_onnx_bytes_is_exact_against_crypten():
    # d_relu_1000 measured a ReLU on 1000 secret values under CrypTen 0.4.1.
    m = measured("crypten", "d_relu_1000")["total"]
    p = h.profile(tiny_onnx_bytes(1000), "crypten")
    assert (p.online_bytes, p.online_rounds) == (m["bytes_sent_total"], m["rounds"])
    assert p.layers == [
        {
            "path": "act",
            "op": "relu",
            "online_bytes": m["bytes_sent_total"],
            "online_rounds": m["rounds"],
            "offline_bytes": 0.0,
            "offline_rounds": 0.0,
        }
    ]


def test_profile_bytes_and_path_give_the_same_profile(tmp_path):
    data = tiny_onnx_bytes(64)
    path = tmp_path / "tiny.onnx"
    path.write_bytes(data)
    a = h.profile(data, "spu-semi2k").to_dict()
    b = h.profile(str(path), "spu-semi2k").to_dict()
    c = h.profile(path, "spu-semi2k").to_dict()
    assert a["total"] == b["total"] == c["total"]
    assert a["layers"] == b["layers"]


@needs_cli
@pytest.mark.parametrize(
    "args, kwargs",
    [
        (["resnet18", "-f", "crypten"], dict()),
        (["lenet5", "-f", "spu-semi2k", "--weights", "public", "--network", "wan"], dict(weights="public", network="wan")),
        (["mlp", "-f", "spu-semi2k", "--train", "--optimizer", "adam", "--batch", "32"], dict(train=True, optimizer="adam", batch=32)),
        (["bert-tiny", "-f", "crypten", "--seq-len", "32", "--set", "exp_iterations=6"], dict(seq_len=32, set={"exp_iterations": 6})),
    ],
)
def test_profile_equals_the_command_line(args, kwargs):
    model, _, framework = args[:3]
    want = cli_json("profile", *args)
    got = h.profile(model, framework, **kwargs).to_dict()
    assert got == want


@needs_cli
def test_layers_dataframe_equals_the_command_line():
    pd = pytest.importorskip("pandas")
    path = FIXTURES / "onnx" / "resnet18.onnx"
    want = cli_json("profile", str(path), "-f", "crypten")["layers"]
    frame = h.profile(path, "crypten").to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["path"]) == [l["path"] for l in want]
    assert list(frame["online_bytes"]) == [l["online_bits"] / 8 for l in want]
    assert list(frame["online_rounds"]) == [l["online_rounds"] for l in want]
    assert abs(frame["share"].sum() - 1.0) < 1e-9


def test_profile_views_and_serialisation():
    p = h.profile("lenet5", "crypten", depth=1)
    text = repr(p)
    assert text.startswith("lenet5 under crypten (2 parties, weights secret")
    assert "pool1" in text
    doc = json.loads(p.to_json())
    assert doc == p.to_dict()
    assert doc["total"]["online_bits"] == p.online_bytes * 8
    assert p.bytes == p.online_bytes + p.offline_bytes
    assert sum(l["online_bytes"] for l in p.layers) == p.online_bytes
    assert p.tree["label"] == "lenet5"


def test_training_profile_has_its_phases():
    p = h.profile("mlp", "crypten", train=True, grad_threshold="default", batch=8)
    assert [ph["phase"] for ph in p.phases] == ["forward", "loss", "backward", "update"]
    assert sum(ph["online_bytes"] for ph in p.phases) == p.online_bytes


def test_dims_bind_symbolic_onnx_dims():
    path = FIXTURES / "onnx" / "bert_layer.onnx"
    with pytest.raises(h.HawkeyeValueError) as e:
        h.profile(path, "crypten")
    short = h.profile(path, "crypten", dims=_bert_dims(path, 8))
    long = h.profile(path, "crypten", dims=_bert_dims(path, 16))
    assert long.online_bytes > short.online_bytes
    assert "symbolic" in str(e.value) or "dim" in str(e.value)


def _bert_dims(path, seq):
    import onnx

    names = set()
    for value in onnx.load(str(path), load_external_data=False).graph.input:
        for d in value.type.tensor_type.shape.dim:
            if d.dim_param:
                names.add(d.dim_param)
    return {n: (1 if "batch" in n else seq) for n in names}


# --- compare, optimize, equiv, catalogues --------------------------------------------------


def test_compare_lists_every_framework_with_figures_or_a_reason():
    c = h.compare("lenet5")
    names = [f["name"] for f in h.frameworks()]
    assert [r["framework"] for r in c.rows()] == names
    assert set(c.profiles) | set(c.errors) == set(names)
    assert c.profiles["crypten"].online_bytes == h.profile("lenet5", "crypten").online_bytes
    for reason in c.errors.values():
        assert reason
    assert "crypten" in repr(c)


def test_compare_subset_and_training():
    c = h.compare("mlp", ["crypten", "spu-semi2k"], train=True, batch=4)
    assert sorted(c.profiles) == ["crypten", "spu-semi2k"]
    assert c.profiles["crypten"].online_bytes == h.profile("mlp", "crypten", train=True, batch=4).online_bytes


def test_optimize_returns_a_cheaper_model_that_loads(tmp_path):
    import onnx

    r = h.optimize("lenet5", "spu-semi2k", weights="public")
    assert r.after.online_bytes < r.before.online_bytes
    assert r.before.online_bytes == h.profile("lenet5", "spu-semi2k", weights="public").online_bytes
    assert any(w["rule"] for w in r.rewrites)
    out = tmp_path / "opt.onnx"
    r.save(out)
    onnx.checker.check_model(onnx.load(str(out)))
    again = h.profile(out, "spu-semi2k", weights="public")
    assert again.online_bytes == r.after.online_bytes
    assert "lenet5" in repr(r)


def test_optimize_with_approximations_respects_the_error_budget():
    # Approximations are chosen per place within the budget: LeNet-5's ReLUs as squares are
    # far beyond a 1% output error, so they are rejected and listed in the report.
    budgeted = h.optimize("lenet5", "spu-semi2k", weights="public", allow_approx=True)
    assert "error budget: relative error <= 0.01" in repr(budgeted)
    assert budgeted.report["budget"]["result"]["error"] <= 0.01
    assert all(not d["accepted"] for d in budgeted.report["budget"]["decisions"] if d["rule"] == "relu-to-square")
    forced = h.optimize("lenet5", "spu-semi2k", weights="public", allow_approx=True, force=True)
    assert forced.after.online_bytes < h.optimize("lenet5", "spu-semi2k", weights="public").after.online_bytes
    # messages name Python's keywords, not the command line's options
    with pytest.raises(h.HawkeyeValueError) as e:
        h.optimize("lenet5", "spu-semi2k", max_error=0.1)
    assert str(e.value) == (
        "max_error=0.1 applies to allow_approx=True results only (exact results are checked "
        "to 1e-9); add allow_approx=True or drop max_error"
    )
    with pytest.raises(h.HawkeyeValueError) as e:
        h.optimize("lenet5", "spu-semi2k", weights="public", allow_approx=True, samples=0)
    assert str(e.value) == (
        "allow_approx=True measures each approximation's output error on the check inputs, and "
        "samples=0 without check_inputs leaves none: give samples=N or check_inputs=FILE, or "
        "force=True to take every approximation unmeasured"
    )


def test_optimize_selects_rules_and_places_and_checks_given_inputs(tmp_path):
    listed = {r["name"]: r for r in h.rules()}
    assert listed["relu-to-square"]["class"] == "approx"
    assert listed["relu-after-maxpool"]["why"]
    # LeNet-5's only rewrites move its two ReLUs after their max pools (pool1, pool2)
    full = h.optimize("lenet5", "spu-semi2k", weights="public")
    assert {(w["rule"], w["module"]) for w in full.rewrites} == {
        ("relu-after-maxpool", "pool1"),
        ("relu-after-maxpool", "pool2"),
    }
    only = h.optimize("lenet5", "spu-semi2k", weights="public", rules_only="relu-after-maxpool")
    assert only.after.online_bytes == full.after.online_bytes
    excluded = h.optimize("lenet5", "spu-semi2k", weights="public", exclude_rules=["relu-after-maxpool"])
    assert excluded.rewrites == [] and excluded.after.online_bytes == full.before.online_bytes
    placed = h.optimize("lenet5", "spu-semi2k", weights="public", modules="pool2*")
    assert {w["module"] for w in placed.rewrites} == {"pool2"}
    assert full.after.online_bytes < placed.after.online_bytes < full.before.online_bytes
    with pytest.raises(h.HawkeyeValueError, match="^rules_only: no rule is named 'relu-after-maxpol'; did you mean relu-after-maxpool"):
        h.optimize("lenet5", "spu-semi2k", rules_only=["relu-after-maxpol"])
    with pytest.raises(h.HawkeyeValueError) as e:
        h.optimize("lenet5", "spu-semi2k", error_metric="argmax")
    assert str(e.value) == (
        "error_metric='argmax' applies to allow_approx=True results only; add allow_approx=True "
        "or drop error_metric"
    )
    # the check runs on the user's inputs besides the random ones
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(0).standard_normal((1, 1, 28, 28)).astype("float32"))
    given = h.optimize("lenet5", "spu-semi2k", weights="public", check_inputs=x)
    assert (given.report["check"]["given"], given.report["check"]["samples"]) == (1, 2)
    assert given.report["check"]["agrees"]
    with pytest.raises(h.HawkeyeValueError, match="x.npy"):
        np.save(x, np.zeros((1, 3), dtype="float32"))
        h.optimize("lenet5", "spu-semi2k", weights="public", check_inputs=x)


def test_equiv_verdicts():
    same = h.equiv("lenet5", "lenet5", "crypten", samples=2)
    assert bool(same) and same.verdict == "equivalent" and same.exit_code == 0
    assert same.max_rel_error == 0.0
    with pytest.raises(h.HawkeyeValueError, match="interface"):
        h.equiv("lenet5", "mlp", "crypten", samples=1)


def test_catalogues():
    fw = {f["name"]: f for f in h.frameworks()}
    assert fw["crypten"]["parties"] == 2
    assert "spu-semi2k" in fw and fw["spu-semi2k"]["default_weights"] in ("secret", "public", "server")
    zoo = {m["name"]: m for m in h.models()}
    assert {"lenet5", "resnet50", "bert-base"} <= set(zoo)


# --- errors ------------------------------------------------------------------------------


def test_missing_file_is_file_not_found(tmp_path):
    missing = tmp_path / "nope.onnx"
    with pytest.raises(FileNotFoundError) as e:
        h.profile(missing, "crypten")
    assert isinstance(e.value, h.HawkeyeError)
    assert str(missing) in str(e.value)


def test_unknown_names_are_value_errors():
    with pytest.raises(ValueError, match="resnet999"):
        h.profile("resnet999", "crypten")
    with pytest.raises(h.HawkeyeValueError, match="unknown framework 'nosuch'"):
        h.profile("lenet5", "nosuch")
    with pytest.raises(h.HawkeyeValueError, match="unknown weights visibility 'hidden'"):
        h.profile("lenet5", "crypten", weights="hidden")
    with pytest.raises(h.HawkeyeValueError, match="unknown loss 'hinge'"):
        h.profile("mlp", "crypten", train=True, loss="hinge")


def test_bad_onnx_bytes_and_bad_types():
    with pytest.raises(h.HawkeyeValueError):
        h.profile(b"not an onnx file", "crypten")
    with pytest.raises(TypeError, match="not int"):
        h.profile(42, "crypten")
    with pytest.raises(h.HawkeyeValueError, match="at least 1"):
        h.profile("lenet5", "crypten", batch=0)
    with pytest.raises(h.HawkeyeValueError, match="inputs are only used"):
        h.profile("lenet5", "crypten", inputs=[1])
    with pytest.raises(h.HawkeyeValueError, match="'default'"):
        h.profile("mlp", "crypten", train=True, grad_threshold="often")


# --- torch (runs where torch is installed) -------------------------------------------------


def test_torch_module_equals_its_exported_file(tmp_path):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(8 * 16 * 16, 10),
    )
    x = torch.randn(1, 3, 32, 32)
    p = h.profile(model, "crypten", inputs=x)
    path = tmp_path / "cnn.onnx"
    torch.onnx.export(model.eval(), (x,), str(path), opset_version=17, input_names=["input"], output_names=["output"])
    assert p.to_dict()["layers"] == h.profile(path, "crypten").to_dict()["layers"]
    if HAWKEYE_BIN:
        want = cli_json("profile", str(path), "-f", "crypten")["layers"]
        assert [l["online_bytes"] for l in p.layers] == [l["online_bits"] / 8 for l in want]
    with pytest.raises(h.HawkeyeValueError, match="example inputs"):
        h.profile(model, "crypten")


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(h, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5
    assert result.failed == 0
