"""Headless Chromium for the tests that look at a rendered page (marker ``chromium``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

BINARIES = ("chromium", "chromium-browser", "google-chrome")


def binary() -> str | None:
    return next(filter(None, map(shutil.which, BINARIES)), None)


def dump_dom(url: str, budget_ms: int = 10_000, timeout: float = 90) -> str:
    """The page's DOM after its scripts ran for ``budget_ms`` of virtual time (Chromium's
    ``--dump-dom``), in a profile of its own that is deleted after."""
    with tempfile.TemporaryDirectory() as profile:
        args = [
            binary(),
            "--headless",
            "--disable-gpu",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ]
        if os.geteuid() == 0:  # Chromium refuses to run as root with its sandbox
            args.insert(1, "--no-sandbox")
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=True)
    return done.stdout
