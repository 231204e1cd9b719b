"""Multi-camera fusion of people, without ROS or torch: one stage per module, plain inputs and outputs.

- `detections`: `PersonDetection`, the plain per-camera input; repeated detections (pose NMS).
- `association`: which detections of different cameras show the same person.
- `pipeline`: `fuse_frame`, one synchronised frame -> `FusedPerson` list in the world frame.
- `tracking`: `Tracker`, ids over time for positions in any metric frame.
- `smoothing`: One-Euro smoothing of joints per track.
- `stream`: `FusionStream`, fusion + tracking + smoothing over a stream of frames; implausible detections and
  joints outside the room set aside (`detections.implausibility`, `pipeline.room_volume`).
- `grouping`, `clocks`: results of several cameras grouped by stamp; a camera whose clock is wrong refused alone.
(One camera over time is `orpose_ros.camera_people`; pictures are in `orpose_ros.drawing`, the MVOR evaluation
in `orpose_ros.evaluation`.)
"""

from orpose_ros.fusion.association import AssociationOptions, associate
from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.fusion.pipeline import TRIANGULATED, FusedPerson, FusionOptions, fuse_frame
from orpose_ros.fusion.smoothing import JointSmoother, OneEuroFilter, OneEuroOptions
from orpose_ros.fusion.stream import FusionStream, StreamOptions, track_people
from orpose_ros.fusion.tracking import Track, Tracker, TrackerOptions, TrackingError

__all__ = [
    "TRIANGULATED",
    "AssociationOptions",
    "FusedPerson",
    "FusionOptions",
    "FusionStream",
    "JointSmoother",
    "OneEuroFilter",
    "OneEuroOptions",
    "PersonDetection",
    "StreamOptions",
    "Track",
    "Tracker",
    "TrackerOptions",
    "TrackingError",
    "associate",
    "fuse_frame",
    "track_people",
]
