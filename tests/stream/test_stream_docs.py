"""The protocol document's example sender and subscriber run, as written, against a live server."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def example(name: str) -> str:
    """Return the python block of docs/protocol.md whose first line is ``# <name>``."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    found = [b for b in blocks if b.startswith(f"# {name}\n")]
    assert len(found) == 1, f"docs/protocol.md must hold exactly one block '# {name}'"
    return found[0]


def test_examples_use_only_pyzmq_and_msgpack():
    for name in ("example_sender.py", "example_subscriber.py"):
        code = example(name)
        imports = set(re.findall(r"^(?:import|from) (\w+)", code, flags=re.M))
        assert imports <= {"sys", "time", "zmq", "msgpack"}, imports
        assert len(code.splitlines()) <= 30


def test_documented_sender_and_subscriber_work_with_the_pipeline(running, tmp_path):
    server, _client = running()
    subscriber = subprocess.Popen(
        [sys.executable, "-c", example("example_subscriber.py"), server.endpoints.publish],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert subscriber.stdout.readline().startswith("subscribed to")
        time.sleep(0.5)  # let the SUB connection settle before the first result is published
        sender = subprocess.run(
            [sys.executable, "-c", example("example_sender.py"), server.endpoints.ingest],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sender.returncode == 0, sender.stderr
        out, err = subscriber.communicate(timeout=60)
    finally:
        subscriber.kill()
    assert subscriber.returncode == 0, err
    lines = out.strip().splitlines()
    assert [int(re.search(r"seq (\d+)", line).group(1)) for line in lines] == list(range(10))
    assert all("1 particles" in line for line in lines)
    diameters = [float(re.search(r"mean diameter ([\d.]+) nm", line).group(1)) for line in lines]
    assert all(5.0 < d < 6.0 for d in diameters)  # a 10 x 10 px square at 0.5 nm/px: 5.6 nm
    acc = server.accounting()
    assert acc.received == acc.processed == 10
