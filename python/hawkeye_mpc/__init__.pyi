"""Type hints of hawkeye_mpc (see the docstrings in __init__.py)."""

import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

Model = Union[str, bytes, bytearray, memoryview, os.PathLike, Any]

class HawkeyeError(Exception): ...
class HawkeyeValueError(HawkeyeError, ValueError): ...
class HawkeyeFileNotFoundError(HawkeyeError, FileNotFoundError): ...
class HawkeyeTypeError(HawkeyeError, TypeError): ...

class Profile:
    model: str
    framework: str
    parties: int
    weights: str
    online_bytes: float
    offline_bytes: float
    online_rounds: float
    offline_rounds: float
    critical_path_rounds: float
    setup_bytes: float
    online_seconds: float
    offline_seconds: float
    per_party_online_bytes: List[float]
    @property
    def bytes(self) -> float: ...
    @property
    def rounds(self) -> float: ...
    @property
    def layers(self) -> List[Dict[str, Any]]: ...
    @property
    def phases(self) -> List[Dict[str, Any]]: ...
    @property
    def tree(self) -> Dict[str, Any]: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def to_json(self, indent: Optional[int] = ...) -> str: ...
    def to_pandas(self) -> Any: ...

class Comparison:
    profiles: Dict[str, Profile]
    errors: Dict[str, str]
    def rows(self) -> List[Dict[str, Any]]: ...
    def to_pandas(self) -> Any: ...

class OptimizeResult:
    report: Dict[str, Any]
    onnx: bytes
    before: Profile
    after: Profile
    @property
    def rewrites(self) -> List[Dict[str, Any]]: ...
    def save(self, path: Union[str, os.PathLike]) -> None: ...

class EquivResult:
    verdict: str
    max_rel_error: float
    exit_code: int
    def __bool__(self) -> bool: ...

def profile(
    model: Model,
    framework: str,
    *,
    inputs: Any = ...,
    weights: Optional[str] = ...,
    train: bool = ...,
    loss: str = ...,
    optimizer: str = ...,
    lr: float = ...,
    grad_threshold: Union[None, float, str] = ...,
    frozen_batchnorm: bool = ...,
    batch: Optional[int] = ...,
    dims: Optional[Mapping[str, int]] = ...,
    resolution: Optional[int] = ...,
    seq_len: Optional[int] = ...,
    classes: Optional[int] = ...,
    network: Optional[str] = ...,
    set: Optional[Mapping[str, float]] = ...,
    depth: Optional[int] = ...,
    top: Optional[int] = ...,
) -> Profile: ...
def compare(
    model: Model,
    frameworks: Optional[Iterable[str]] = ...,
    *,
    inputs: Any = ...,
    weights: Optional[str] = ...,
    train: bool = ...,
    loss: str = ...,
    optimizer: str = ...,
    lr: float = ...,
    grad_threshold: Union[None, float, str] = ...,
    frozen_batchnorm: bool = ...,
    batch: Optional[int] = ...,
    dims: Optional[Mapping[str, int]] = ...,
    resolution: Optional[int] = ...,
    seq_len: Optional[int] = ...,
    classes: Optional[int] = ...,
    network: Optional[str] = ...,
    set: Optional[Mapping[str, float]] = ...,
) -> Comparison: ...
def optimize(
    model: Model,
    framework: str,
    *,
    inputs: Any = ...,
    weights: Optional[str] = ...,
    objective: str = ...,
    allow_approx: bool = ...,
    samples: int = ...,
    max_error: Optional[float] = ...,
    error_metric: str = ...,
    max_sites: Optional[int] = ...,
    force: bool = ...,
    rules_only: Optional[Union[str, Sequence[str]]] = ...,
    exclude_rules: Optional[Union[str, Sequence[str]]] = ...,
    modules: Optional[str] = ...,
    check_inputs: Optional[Union[str, os.PathLike]] = ...,
    batch: Optional[int] = ...,
    dims: Optional[Mapping[str, int]] = ...,
    resolution: Optional[int] = ...,
    seq_len: Optional[int] = ...,
    classes: Optional[int] = ...,
    network: Optional[str] = ...,
    set: Optional[Mapping[str, float]] = ...,
) -> OptimizeResult: ...
def equiv(
    original: Model,
    variant: Model,
    framework: str,
    *,
    weights: Optional[str] = ...,
    samples: int = ...,
    seed: int = ...,
    tolerance: float = ...,
    batch: Optional[int] = ...,
    dims: Optional[Mapping[str, int]] = ...,
    set: Optional[Mapping[str, float]] = ...,
) -> EquivResult: ...
def frameworks() -> List[Dict[str, Any]]: ...
def models() -> List[Dict[str, Any]]: ...
def rules() -> List[Dict[str, Any]]: ...
