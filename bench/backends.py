"""Engine backends named by a spec: an engine name with an optional ``-int8`` suffix ("onnx-int8").

One place turns a spec into the engine configuration, an engine object, or `nanolive serve` options,
so every benchmark part measures the same backend under the same name.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

INT8_SUFFIX = "-int8"


def engine_config(spec: str):  # noqa: ANN201 (nanolive.engines.base.EngineConfig)
    """Return the EngineConfig of ``spec`` (``name`` or ``name-int8``)."""
    from nanolive.engines.base import EngineConfig

    if not spec:
        raise ValueError("an engine spec must not be empty")
    return EngineConfig(name=spec.removesuffix(INT8_SUFFIX), int8=spec.endswith(INT8_SUFFIX))


def create(spec: str):  # noqa: ANN201 (nanolive.engines.base.Engine)
    """Return the engine of ``spec``; raises ImportError/OSError/ValueError/RuntimeError if unavailable.

    An ``-int8`` spec whose engine fell back to a non-INT8 model is refused (FileNotFoundError), so a
    result labelled INT8 is always the INT8 model.
    """
    from nanolive.engines.registry import create_engine

    config = engine_config(spec)
    engine = create_engine(config)
    model = str(getattr(engine, "model_path", ""))
    if config.int8 and "int8" not in model:
        raise FileNotFoundError(f"no INT8 model for {config.name} (it would run {model or 'fp32'})")
    return engine


def serve_args(spec: str) -> list[str]:
    """Return the `nanolive serve` options selecting the backend ``spec``."""
    config = engine_config(spec)
    args = ["--engine", config.name]
    if config.int8:
        args += ["--set", "engine.int8=true"]
    return args


def backend_rows(specs: Sequence[str], frames: np.ndarray, threads: Sequence[int]) -> list[dict]:
    """Return per backend and thread count the network / whole-segment ms per 512 x 512 frame.

    Uses ``nanolive.bench.engine_speed.engine_row`` (batch 1, medians after two warm-up calls);
    backends that cannot run here come back with a ``skipped`` reason.
    """
    from .engine_speed import engine_row

    rows = []
    for spec in specs:
        config = engine_config(spec)
        counts = [threads[0]] if config.name == "classical" else list(threads)
        for n in counts:
            try:
                rows.append(engine_row(config.name, n, config.int8, frames))
            except (ImportError, OSError, ValueError, RuntimeError) as exc:
                rows.append(
                    {"engine": spec, "threads": n, "skipped": f"{type(exc).__name__}: {exc}"}
                )
    return rows
