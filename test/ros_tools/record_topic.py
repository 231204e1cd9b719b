"""Subscribe to a topic and write the first N messages as JSON (large byte arrays as .npy).

    python record_topic.py TOPIC TYPE OUT.json [--count N] [--timeout S] [--best-effort]

Writes after every message, so a test can read partial results; exits 0 when N were received, 3 on
timeout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from msg_dict import message_type, to_dict


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("topic")
    parser.add_argument("type")
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--best-effort", action="store_true")
    args = parser.parse_args()

    rclpy.init()
    node = rclpy.create_node("record_topic")
    received: list[dict] = []
    qos = QoSProfile(depth=100)
    if args.best_effort:
        qos.reliability = ReliabilityPolicy.BEST_EFFORT

    def on_message(msg: object) -> None:
        if len(received) >= args.count:
            return
        entry = to_dict(msg, blobs=args.out.with_name(f"{args.out.stem}_{len(received)}.npy"))
        entry["_received_ns"] = time.time_ns()
        received.append(entry)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(received))
        tmp.replace(args.out)

    node.create_subscription(message_type(args.type), args.topic, on_message, qos)
    print("recording", flush=True)
    deadline = time.monotonic() + args.timeout
    try:
        while len(received) < args.count and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.1)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0 if len(received) >= args.count else 3


if __name__ == "__main__":
    sys.exit(main())
