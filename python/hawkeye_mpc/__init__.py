"""hawkeye_mpc: how many bytes and rounds a neural network costs under secure multi-party
computation (MPC), where they are spent, and which equivalent graph costs less -- in
milliseconds, without running any cryptography.

>>> import hawkeye_mpc as h
>>> p = h.profile("lenet5", "crypten")
>>> p.online_bytes > 0
True
>>> [layer["path"] for layer in p.layers][:2]
['conv1', 'relu1']

A model is a zoo name (``h.models()``), a path to a ``.onnx`` or ``.json`` file, the bytes
of an ONNX file, or a ``torch.nn.Module`` with example ``inputs`` (exported in memory with
``torch.onnx.export``). Errors are :class:`HawkeyeError` subclasses carrying the command
line's messages: :class:`HawkeyeValueError` (also a ``ValueError``) and
:class:`HawkeyeFileNotFoundError` (also a ``FileNotFoundError``).
"""

from __future__ import annotations

import io
import json
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from . import _native

__all__ = [
    "profile",
    "compare",
    "optimize",
    "equiv",
    "frameworks",
    "models",
    "rules",
    "Profile",
    "Comparison",
    "OptimizeResult",
    "EquivResult",
    "HawkeyeError",
    "HawkeyeValueError",
    "HawkeyeFileNotFoundError",
]


class HawkeyeError(Exception):
    """Base class of every error hawkeye_mpc raises."""


class HawkeyeValueError(HawkeyeError, ValueError):
    """A model, framework or option that cannot be used."""


class HawkeyeFileNotFoundError(HawkeyeError, FileNotFoundError):
    """A model file that does not exist."""


class HawkeyeTypeError(HawkeyeError, TypeError):
    """An argument of the wrong type (e.g. a model that is neither a name, a path nor bytes)."""


_KINDS = {
    "file_not_found": HawkeyeFileNotFoundError,
    "value": HawkeyeValueError,
    "type": HawkeyeTypeError,
}


def _call(fn, *args, **kwargs):
    """Calls a native function, turning its errors into HawkeyeError subclasses."""
    try:
        return fn(*args, **kwargs)
    except _native.NativeError as e:
        kind, message = e.args
        raise _KINDS.get(kind, HawkeyeError)(message) from None


def _is_torch_module(obj: Any) -> bool:
    return any(
        c.__module__.startswith("torch.nn") and c.__name__ == "Module"
        for c in type(obj).__mro__
    )


def _model(model: Any, inputs: Any = None, opset: int = 17) -> Any:
    """A model as the native layer takes it: str, bytes, or a path."""
    if isinstance(model, (str, bytes, os.PathLike)):
        if inputs is not None:
            raise HawkeyeValueError(
                "inputs are only used with a torch.nn.Module model; a zoo name or a file "
                "already fixes its input shapes (use batch= or dims= to change them)"
            )
        return os.fspath(model) if isinstance(model, os.PathLike) else model
    if isinstance(model, (bytearray, memoryview)):
        return bytes(model)
    if _is_torch_module(model):
        return _export_torch(model, inputs, opset)
    raise HawkeyeTypeError(
        "model must be a zoo name, a path to a .onnx or .json file, ONNX bytes, or a "
        f"torch.nn.Module with inputs, not {type(model).__name__}"
    )


def _export_torch(module: Any, inputs: Any, opset: int) -> bytes:
    """Exports a torch.nn.Module with torch.onnx.export into memory."""
    try:
        import torch
    except ImportError:  # pragma: no cover - only without torch
        raise HawkeyeValueError(
            "a torch.nn.Module needs torch installed (pip install torch), or export it "
            "yourself with torch.onnx.export and pass the file"
        ) from None
    if inputs is None:
        raise HawkeyeValueError(
            "a torch.nn.Module needs example inputs: profile(model, framework, inputs=x) "
            "with x a tensor or a tuple of tensors of the shapes to profile"
        )
    args = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    was_training = module.training
    module.eval()
    buffer = io.BytesIO()
    try:
        with torch.no_grad():
            torch.onnx.export(
                module,
                args,
                buffer,
                opset_version=opset,
                input_names=[f"input{i}" if len(args) > 1 else "input" for i in range(len(args))],
                output_names=["output"],
            )
    finally:
        module.train(was_training)
    return buffer.getvalue()


def _pairs(mapping: Optional[Mapping[str, Any]], what: str, cast) -> List[tuple]:
    if mapping is None:
        return []
    if not isinstance(mapping, Mapping):
        raise HawkeyeTypeError(f"{what} must be a dict of name to value")
    out = []
    for name, value in mapping.items():
        try:
            out.append((str(name), cast(value)))
        except (TypeError, ValueError):
            raise HawkeyeValueError(f"{what}: {name}={value!r} is not a number") from None
    return out


def _names(names: Optional[Sequence[str]], what: str) -> List[str]:
    """Rule names as a list: a sequence of names, or one comma-separated string."""
    if names is None:
        return []
    if isinstance(names, str):
        names = names.split(",")
    out = []
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"{what} takes rule names (str), got {type(n).__name__}")
        out.append(n.strip())
    return out


def _dims(dims: Optional[Mapping[str, int]]) -> List[tuple]:
    pairs = _pairs(dims, "dims", int)
    for name, value in pairs:
        if value < 1:
            raise HawkeyeValueError(f"dims: {name}={value} must be at least 1")
    return pairs


def _train_kwargs(
    train: bool, loss: str, optimizer: str, lr: float, grad_threshold
) -> Optional[dict]:
    """The training keywords the native module takes (``None`` for inference)."""
    default = isinstance(grad_threshold, str)
    if default and grad_threshold != "default":
        raise HawkeyeValueError(
            f"grad_threshold must be a number or 'default', not {grad_threshold!r}"
        )
    if not train:
        return None
    return dict(
        loss=loss,
        optimizer=optimizer,
        lr=float(lr),
        grad_threshold=None if default or grad_threshold is None else float(grad_threshold),
        default_grad_threshold=default,
    )


def _shape_kwargs(batch, dims, resolution=None, seq_len=None, classes=None, network=None, set=None) -> dict:
    """The model-shape and costing keywords every call passes on to the native module."""
    return dict(
        batch=batch,
        dims=_dims(dims),
        resolution=resolution,
        seq_len=seq_len,
        classes=classes,
        network=network,
        set=_pairs(set, "set", float),
    )


def _bytes(bits: float) -> float:
    return bits / 8.0


class Profile:
    """A communication profile: totals, per-layer figures in execution order, the
    attribution tree (module path > op > sub-op > primitive) and per-phase figures.

    Figures are in bytes and rounds, totals over all parties (each byte on the wire once);
    ``per_party_online_bytes`` gives what each party sends. ``repr`` is the command line's view.
    """

    def __init__(self, doc: Dict[str, Any], text: str = ""):
        self._doc = doc
        self._text = text
        t = doc["total"]
        self.model: str = doc["model"]
        self.framework: str = doc["framework"]
        self.parties: int = doc["parties"]
        self.weights: str = doc["weights"]
        self.online_bytes: float = _bytes(t["online_bits"])
        self.offline_bytes: float = _bytes(t["offline_bits"])
        self.online_rounds: float = t["online_rounds"]
        self.offline_rounds: float = t["offline_rounds"]
        self.critical_path_rounds: float = t["critical_path_rounds"]
        self.setup_bytes: float = _bytes(t["setup_bits"])
        self.online_seconds: float = t["online_seconds"]
        self.offline_seconds: float = t["offline_seconds"]
        self.per_party_online_bytes: List[float] = [
            _bytes(b) for b in doc["per_party_online_bits"]
        ]

    @property
    def bytes(self) -> float:
        """Online plus offline bytes."""
        return self.online_bytes + self.offline_bytes

    @property
    def rounds(self) -> float:
        """Online plus offline rounds."""
        return self.online_rounds + self.offline_rounds

    @property
    def layers(self) -> List[Dict[str, Any]]:
        """One dict per module instance in execution order: ``path``, ``op`` (its costliest
        op), ``online_bytes``, ``online_rounds``, ``offline_bytes``, ``offline_rounds``."""
        return [_layer(l) for l in self._doc["layers"]]

    @property
    def phases(self) -> List[Dict[str, Any]]:
        """Per phase (``forward``, ``loss``, ``backward``, ``update``): bytes and rounds."""
        return [_layer(p) for p in self._doc["phases"]]

    @property
    def tree(self) -> Dict[str, Any]:
        """The attribution tree as nested dicts (``label``, ``cost``, ``children``); costs in
        bits, as in the JSON of ``hawkeye profile --format json``."""
        return self._doc["tree"]

    def to_dict(self) -> Dict[str, Any]:
        """The profile JSON document of ``hawkeye profile --format json`` (figures in bits)."""
        return json.loads(json.dumps(self._doc))

    def to_json(self, indent: Optional[int] = None) -> str:
        """``to_dict()`` as a JSON string."""
        return json.dumps(self._doc, indent=indent)

    def to_pandas(self):
        """The per-layer table as a ``pandas.DataFrame`` (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise HawkeyeValueError("to_pandas() needs pandas (pip install pandas)") from None
        rows = self.layers
        total = self.online_bytes
        frame = pd.DataFrame(
            rows,
            columns=["path", "op", "online_bytes", "online_rounds", "offline_bytes", "offline_rounds"],
        )
        frame["share"] = frame["online_bytes"] / total if total else 0.0
        return frame

    def __repr__(self) -> str:
        if self._text:
            return self._text.rstrip("\n")
        return (
            f"<Profile {self.model} under {self.framework}: "
            f"{self.online_bytes:.0f} B online, {self.online_rounds:g} rounds>"
        )


def _layer(entry: Dict[str, Any]) -> Dict[str, Any]:
    out = {}
    for key, value in entry.items():
        if key.endswith("_bits"):
            out[key[: -len("_bits")] + "_bytes"] = _bytes(value)
        else:
            out[key] = value
    return out


def profile(
    model: Any,
    framework: str,
    *,
    inputs: Any = None,
    weights: Optional[str] = None,
    train: bool = False,
    loss: str = "ce",
    optimizer: str = "sgd",
    lr: float = 0.01,
    grad_threshold: Union[None, float, str] = None,
    frozen_batchnorm: bool = False,
    batch: Optional[int] = None,
    dims: Optional[Mapping[str, int]] = None,
    resolution: Optional[int] = None,
    seq_len: Optional[int] = None,
    classes: Optional[int] = None,
    network: Optional[str] = None,
    set: Optional[Mapping[str, float]] = None,
    depth: Optional[int] = None,
    top: Optional[int] = None,
) -> Profile:
    """Profiles a model's communication under one framework.

    >>> import hawkeye_mpc as h
    >>> p = h.profile("mlp", "spu-semi2k", batch=32, train=True, optimizer="adam")
    >>> [ph["phase"] for ph in p.phases]
    ['forward', 'loss', 'backward', 'update']

    ``framework`` is a name or alias (``frameworks()``) or a path to a cost-model ``.toml``;
    ``weights`` is ``"secret"``, ``"public"`` or ``"server"`` (default: the framework's);
    ``dims`` binds symbolic ONNX dims (``{"sequence": 128}``); ``set`` overrides cost-model
    parameters (``{"ring": 32}``); ``network`` is ``"lan"``, ``"wan"`` or ``"BW,RTT"``;
    ``depth``/``top`` shape the text view that ``repr`` shows. ``grad_threshold="default"``
    uses the framework's default threshold (CrypTen: 100).
    """
    doc, text = _call(
        _native.profile,
        _model(model, inputs),
        framework,
        weights=weights,
        frozen_batchnorm=frozen_batchnorm,
        train=_train_kwargs(train, loss, optimizer, lr, grad_threshold),
        shape=_shape_kwargs(batch, dims, resolution, seq_len, classes, network, set),
        depth=depth,
        top=top,
    )
    return Profile(json.loads(doc), text)


class Comparison:
    """One model under several frameworks: ``profiles`` (name to :class:`Profile`) and
    ``errors`` (name to the reason a framework cannot cost the model)."""

    def __init__(self, rows: List[Dict[str, Any]]):
        self.profiles: Dict[str, Profile] = {}
        self.errors: Dict[str, str] = {}
        self._order = [r["framework"] for r in rows]
        for r in rows:
            if "profile" in r:
                self.profiles[r["framework"]] = Profile(r["profile"])
            else:
                self.errors[r["framework"]] = r["error"]

    def rows(self) -> List[Dict[str, Any]]:
        """One dict per framework, in order: totals, or the error."""
        out = []
        for name in self._order:
            p = self.profiles.get(name)
            if p is None:
                out.append({"framework": name, "error": self.errors[name]})
            else:
                out.append(
                    {
                        "framework": name,
                        "online_bytes": p.online_bytes,
                        "offline_bytes": p.offline_bytes,
                        "online_rounds": p.online_rounds,
                        "offline_rounds": p.offline_rounds,
                        "online_seconds": p.online_seconds,
                        "offline_seconds": p.offline_seconds,
                    }
                )
        return out

    def to_pandas(self):
        """``rows()`` as a ``pandas.DataFrame`` (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise HawkeyeValueError("to_pandas() needs pandas (pip install pandas)") from None
        return pd.DataFrame(self.rows())

    def __repr__(self) -> str:
        lines = [f"{'framework':<14} {'online':>12} {'rounds':>8} {'offline':>12}"]
        for r in self.rows():
            if "error" in r:
                lines.append(f"{r['framework']:<14} cannot cost: {r['error']}")
            else:
                lines.append(
                    f"{r['framework']:<14} {_human(r['online_bytes']):>12} "
                    f"{r['online_rounds']:>8.0f} {_human(r['offline_bytes']):>12}"
                )
        return "\n".join(lines)


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.2f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1000
    return f"{n:.2f} TB"


def compare(
    model: Any,
    frameworks: Optional[Iterable[str]] = None,
    *,
    inputs: Any = None,
    weights: Optional[str] = None,
    train: bool = False,
    loss: str = "ce",
    optimizer: str = "sgd",
    lr: float = 0.01,
    grad_threshold: Union[None, float, str] = None,
    frozen_batchnorm: bool = False,
    batch: Optional[int] = None,
    dims: Optional[Mapping[str, int]] = None,
    resolution: Optional[int] = None,
    seq_len: Optional[int] = None,
    classes: Optional[int] = None,
    network: Optional[str] = None,
    set: Optional[Mapping[str, float]] = None,
) -> Comparison:
    """Profiles a model under several frameworks (all built-ins by default).

    >>> import hawkeye_mpc as h
    >>> c = h.compare("lenet5", ["crypten", "spu-semi2k"])
    >>> sorted(c.profiles)
    ['crypten', 'spu-semi2k']
    """
    names = None if frameworks is None else [str(f) for f in frameworks]
    rows = _call(
        _native.compare,
        _model(model, inputs),
        names,
        weights=weights,
        frozen_batchnorm=frozen_batchnorm,
        train=_train_kwargs(train, loss, optimizer, lr, grad_threshold),
        shape=_shape_kwargs(batch, dims, resolution, seq_len, classes, network, set),
    )
    return Comparison(json.loads(rows))


class OptimizeResult:
    """An optimized model: ``onnx`` (the ONNX file as bytes; ``save(path)`` writes it),
    ``before`` and ``after`` profiles, ``rewrites`` (the rewritten nodes with rule and
    module), ``report`` (the JSON of ``hawkeye optimize --format json``)."""

    def __init__(self, report: str, text: str, onnx: bytes, before: str, after: str):
        self.report: Dict[str, Any] = json.loads(report)
        self.onnx: bytes = onnx
        self.before = Profile(json.loads(before))
        self.after = Profile(json.loads(after))
        self._text = text

    @property
    def rewrites(self) -> List[Dict[str, Any]]:
        return self.report.get("rewrites", [])

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes the optimized model as an ONNX file."""
        with open(path, "wb") as f:
            f.write(self.onnx)

    def __repr__(self) -> str:
        return self._text.rstrip("\n")


def optimize(
    model: Any,
    framework: str,
    *,
    inputs: Any = None,
    weights: Optional[str] = None,
    objective: str = "time",
    allow_approx: bool = False,
    samples: int = 2,
    max_error: Optional[float] = None,
    error_metric: str = "relative",
    max_sites: Optional[int] = None,
    force: bool = False,
    rules_only: Optional[Sequence[str]] = None,
    exclude_rules: Optional[Sequence[str]] = None,
    modules: Optional[str] = None,
    check_inputs: Optional[Union[str, os.PathLike]] = None,
    batch: Optional[int] = None,
    dims: Optional[Mapping[str, int]] = None,
    resolution: Optional[int] = None,
    seq_len: Optional[int] = None,
    classes: Optional[int] = None,
    network: Optional[str] = None,
    set: Optional[Mapping[str, float]] = None,
) -> OptimizeResult:
    """Finds the cheapest equivalent graph by e-graph rewriting, as ``hawkeye optimize`` does,
    and checks it against the input on ``samples`` random inputs (0 skips the check). With
    ``allow_approx``, approximate rules apply too, chosen per place so that the measured output
    error stays within ``max_error`` (relative to the largest output; default 0.01; the
    decisions are in ``report["budget"]``; ``error_metric`` is ``"relative"``, ``"mean"``,
    ``"max"`` or ``"argmax"``, ``max_sites`` bounds the places measured); ``force`` takes every
    approximation instead and returns the result whatever its error. ``rules_only`` and
    ``exclude_rules`` select rules by name (:func:`rules` lists them), ``modules`` is a glob
    of module paths where rewrites may apply (``"layer4.*"``), ``check_inputs`` a ``.npy`` or
    ``.npz`` file of inputs the check runs on besides the random ones.

    >>> import hawkeye_mpc as h
    >>> r = h.optimize("lenet5", "spu-semi2k", weights="public")
    >>> r.after.online_bytes < r.before.online_bytes
    True
    """
    out = _call(
        _native.optimize,
        _model(model, inputs),
        framework,
        weights=weights,
        objective=objective,
        allow_approx=allow_approx,
        samples=int(samples),
        max_error=None if max_error is None else float(max_error),
        error_metric=error_metric,
        max_sites=None if max_sites is None else int(max_sites),
        force=force,
        rules_only=_names(rules_only, "rules_only"),
        exclude_rules=_names(exclude_rules, "exclude_rules"),
        modules=modules,
        check_inputs=None if check_inputs is None else os.fspath(check_inputs),
        shape=_shape_kwargs(batch, dims, resolution, seq_len, classes, network, set),
    )
    return OptimizeResult(*out)


class EquivResult:
    """The outcome of :func:`equiv`: ``verdict`` (``"equivalent"``, ``"approximately
    equal"`` or ``"different"``), ``max_rel_error``, ``exit_code`` (that of ``hawkeye
    equiv``); true when equivalent."""

    def __init__(self, verdict: str, max_rel_error: float, exit_code: int, text: str):
        self.verdict = verdict
        self.max_rel_error = max_rel_error
        self.exit_code = exit_code
        self._text = text

    def __bool__(self) -> bool:
        return self.verdict == "equivalent"

    def __repr__(self) -> str:
        return self._text.rstrip("\n")


def equiv(
    original: Any,
    variant: Any,
    framework: str,
    *,
    weights: Optional[str] = None,
    samples: int = 8,
    seed: int = 0,
    tolerance: float = 0.01,
    batch: Optional[int] = None,
    dims: Optional[Mapping[str, int]] = None,
    set: Optional[Mapping[str, float]] = None,
) -> EquivResult:
    """Checks that ``variant`` computes what ``original`` does (numerically on random
    inputs, in f64 and the framework's fixed point, and by an e-graph proof), as ``hawkeye
    equiv`` does.

    >>> import hawkeye_mpc as h
    >>> bool(h.equiv("lenet5", "lenet5", "crypten", samples=1))
    True
    """
    out = _call(
        _native.equiv,
        _model(original),
        _model(variant),
        framework,
        weights=weights,
        samples=int(samples),
        seed=int(seed),
        tolerance=float(tolerance),
        shape=_shape_kwargs(batch, dims, set=set),
    )
    return EquivResult(*out)


def frameworks() -> List[Dict[str, Any]]:
    """The built-in frameworks: name, aliases, description, provenance, parties, what a round
    means, default weight visibility and parameters."""
    return json.loads(_call(_native.frameworks))


def models() -> List[Dict[str, Any]]:
    """The model zoo: name, description and the knobs each model takes."""
    return json.loads(_native.models())


def rules() -> List[Dict[str, Any]]:
    """The built-in rewrite rules: name, class (``exact`` or ``approx``), direction, file,
    line and ``why``, as ``hawkeye rules --format json`` lists them."""
    return json.loads(_call(_native.rules))
