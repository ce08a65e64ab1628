"""nanolive.trackers: Kalman + thresholded-LAP tracking of particles, with drift, merges and splits.

Streaming use: ``tracker = Tracker(TrackerConfig()); update = tracker.update(Detections.from_table(t))``
for every frame, then ``tracker.finish()`` and ``tracker.summaries()``.
"""

from .association import associate, associate_dense, associate_edges
from .config import TrackerConfig
from .drift import detection_drift, phase_drift
from .kalman import KalmanModel
from .summaries import TrackHistory, track_summaries
from .tracker import Tracker
from .types import Detections, TrackEvent, TrackUpdate

__all__ = [
    "Detections",
    "KalmanModel",
    "TrackEvent",
    "TrackHistory",
    "TrackUpdate",
    "Tracker",
    "TrackerConfig",
    "associate",
    "associate_dense",
    "associate_edges",
    "detection_drift",
    "phase_drift",
    "track_summaries",
]
