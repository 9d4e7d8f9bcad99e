"""What the command-line tools share in parsing their arguments."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def at_least(minimum: int, what: str) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum``; the error names the value and
    what it is (``what``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r}: {what}, at least {minimum}")
        return value

    return parse
