"""orpose-bench: speed of the ORPose model and of the ROS 2 node, measured, never asserted.

Modules:
    model_bench: the published pipeline (detectron2 `DefaultPredictor` per frame) against
        `OrPosePredictor` (1 camera, N cameras batched) on the same weights, frames and device,
        with an output-equality check. ROS-free.
    ros_bench: end to end through ROS 2 with real processes (camera replays, the node, a probe).
    report: bench.json, bench.png and the markdown table of the README.
    cli: the ``orpose-bench`` console script.
"""
