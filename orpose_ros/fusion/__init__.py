"""Multi-camera fusion of people, without ROS or torch: association, triangulation, tracking, smoothing.

- `detections`: `PersonDetection`, the plain per-camera input.
- `mvor`: reading the MVOR dataset (calibration, ground truth, detections) for evaluation.
"""
