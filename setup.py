"""ament_python package orpose_ros: the ORPose student model and its ROS 2 node."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "orpose_ros"

setup(
    name=PACKAGE,
    version="0.2.0",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.xml") + glob("config/*.rviz")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="orpose_ros maintainers",
    maintainer_email="orpose-ros@example.com",
    description="Privacy-preserving multi-person 2D/3D human pose estimation (ORPose) for ROS 2.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "orpose_node = orpose_ros.ros.entry_point:orpose_node",
            "orpose_privacy_filter = orpose_ros.ros.entry_point:orpose_privacy_filter",
            "orpose_fusion_node = orpose_ros.ros.entry_point:orpose_fusion_node",
            "orpose_room_demo = orpose_ros.ros.entry_point:orpose_room_demo",
            "orpose_zone_monitor = orpose_ros.ros.entry_point:orpose_zone_monitor",
            "orpose_demo = orpose_ros.ros.demo:main",
            "camera_replay = orpose_ros.ros.camera_replay:main",
            "orpose-infer = orpose_ros.cli.infer:main",
            "orpose-export = orpose_ros.cli.export:main",
            "orpose-download-models = orpose_ros.cli.download_models:main",
            "orpose-bench = orpose_ros.bench.cli:main",
            "orpose-soak = orpose_ros.bench.soak:main",
            "orpose-bench-privacy = orpose_ros.bench.privacy_bench:main",
            "orpose-bench-fusion = orpose_ros.bench.fusion_bench:main",
            "orpose-bench-tf-latency = orpose_ros.bench.tf_latency:main",
            "orpose-privacy-filter = orpose_ros.cli.privacy_filter:main",
            "orpose-fuse = orpose_ros.cli.fuse:main",
            "orpose-eval-mvor = orpose_ros.cli.evaluate_mvor:main",
        ],
    },
)
