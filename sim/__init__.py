"""nanolive.sim: synthetic HAADF-STEM / bright-field TEM frames and videos of supported nanoparticles
with exact ground truth (instance labels, particle tables, identity events).

Public API: ``SimConfig``, ``SimFrame``, ``SimEvent``, ``Table``, ``simulate_image``,
``simulate_video``, ``sampling_mask``. See docs/simulator.md. Names are imported on first use, so
that importing ``nanolive.sim.cli`` (for ``nanolive --help``) does not load numpy and scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import SimConfig
    from .frames import SimEvent, SimFrame, Table
    from .masks import sampling_mask
    from .simulate import simulate_image, simulate_video

_WHERE = {
    "SimConfig": ".config",
    "SimEvent": ".frames",
    "SimFrame": ".frames",
    "Table": ".frames",
    "sampling_mask": ".masks",
    "simulate_image": ".simulate",
    "simulate_video": ".simulate",
}

__all__ = [
    "SimConfig",
    "SimEvent",
    "SimFrame",
    "Table",
    "sampling_mask",
    "simulate_image",
    "simulate_video",
]


def __getattr__(name: str) -> Any:
    """Return a public name, importing its module on first use."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name], __name__), name)
