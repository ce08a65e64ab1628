"""nanolive.sim: synthetic HAADF-STEM / bright-field TEM frames and videos of supported nanoparticles
with exact ground truth (instance labels, particle tables, identity events).

Public API: ``SimConfig``, ``SimFrame``, ``SimEvent``, ``simulate_image``, ``simulate_video``,
``sampling_mask``. See docs/simulator.md.
"""

from .config import SimConfig
from .frames import SimEvent, SimFrame, Table
from .masks import sampling_mask
from .simulate import simulate_image, simulate_video

__all__ = [
    "SimConfig",
    "SimEvent",
    "SimFrame",
    "Table",
    "sampling_mask",
    "simulate_image",
    "simulate_video",
]
