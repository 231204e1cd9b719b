"""A parent that stops its children as ``ros2 launch`` does, to test Ctrl-C in a terminal.

    python forwarding_parent.py '[["cmd", "arg"], ["cmd2"]]'

The children stay in this process's process group, so a terminal's Ctrl-C (SIGINT to the group) reaches
each of them directly and, forwarded by this parent, once more. Like launch, the parent forwards only the
first SIGINT (later ones are logged and ignored), escalates to SIGTERM after the 5 s grace and to SIGKILL
5 s later. Prints ``started`` once every child runs, then one JSON line per child when all have exited:
``{"index", "returncode", "seconds"}`` (seconds from the first SIGINT to the child's exit). Exits 0 only
when every child exited 0 within the grace.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

GRACE_S = 5.0


def main() -> int:
    commands = json.loads(sys.argv[1])
    children = [subprocess.Popen(command) for command in commands]
    first_sigint: list[float] = []

    def on_sigint(signum: int, frame: object) -> None:
        if first_sigint:
            return  # launch: "user interrupted with ctrl-c (SIGINT) again, ignoring..."
        first_sigint.append(time.monotonic())
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)

    signal.signal(signal.SIGINT, on_sigint)
    print("started", flush=True)
    exits: dict[int, float] = {}
    escalated = 0
    while len(exits) < len(children):
        for index, child in enumerate(children):
            if index not in exits and child.poll() is not None:
                exits[index] = time.monotonic()
        if first_sigint:
            waited = time.monotonic() - first_sigint[0]
            if (escalated == 0 and waited > GRACE_S) or (escalated == 1 and waited > 2 * GRACE_S):
                escalated += 1
                for child in children:
                    if child.poll() is None:
                        child.send_signal(signal.SIGTERM if escalated == 1 else signal.SIGKILL)
        time.sleep(0.01)
    start = first_sigint[0] if first_sigint else float("nan")
    results = [{"index": i, "returncode": child.returncode, "seconds": round(exits[i] - start, 3)}
               for i, child in enumerate(children)]
    for result in results:
        print(json.dumps(result), flush=True)
    return 0 if all(r["returncode"] == 0 and r["seconds"] < GRACE_S for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
