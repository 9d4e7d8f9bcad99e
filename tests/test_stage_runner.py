"""What every stage shares (``actlab.stage_runner``): here, how its log lines meet its bar."""

from __future__ import annotations

import subprocess
import sys

STAGE = """
import logging, sys
from tqdm import tqdm
from actlab import stage_runner

def body():
    log = logging.getLogger("stage")
    for i in tqdm(range(3), desc="train", unit="model", file=sys.stderr, disable=False):
        log.info("model %d trained", i)

raise SystemExit(stage_runner.run_stage(body))
"""


def visible_lines(stream: str) -> list[str]:
    """What a terminal shows of each line: the text after its last carriage return."""
    return [line.rsplit("\r", 1)[-1] for line in stream.split("\n")]


def test_log_lines_go_above_the_bar_not_into_it():
    done = subprocess.run([sys.executable, "-c", STAGE], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    logged = [line for line in visible_lines(done.stderr) if "model " in line and "trained" in line]
    assert [line.strip() for line in logged] == [f"INFO stage: model {i} trained" for i in range(3)]
    assert "train: 100%" in done.stderr  # the bar is still drawn, and finishes
