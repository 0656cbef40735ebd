"""What each command-line option accepts: option types that check a value as argparse reads it.

A mistake such as ``-r 0`` or ``--precision 150%`` gets one sentence saying what was
expected. Shared by every command, ``pathways calibrate`` included.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def whole_number(minimum: int) -> Callable[[str], int]:
    """An option type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"expected a number of at least {minimum}, got {value}"
            )
        return value

    return parse


positive_int = whole_number(1)


AUTO = "auto"


def replications(text: str) -> int | str:
    """A number of replications: a whole number of at least 1, or ``auto``."""
    if text.strip().lower() == AUTO:
        return AUTO
    try:
        int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of at least 1 or 'auto', got {text!r}"
        ) from None
    return positive_int(text)


def share(text: str) -> float:
    """A share above 0 and below 1, written 0.05 or 5%."""
    body = text.strip()
    try:
        value = float(body[:-1]) / 100 if body.endswith("%") else float(body)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a share such as 0.05 or 5%, got {text!r}"
        ) from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a share above 0 and below 1 (0.05 or 5%), got {text!r}"
        )
    return value


def years(text: str) -> float:
    """A number of years above 0 and at most 50."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of years, got {text!r}") from None
    if not 0 < value <= 50:
        raise argparse.ArgumentTypeError(f"expected years above 0 and at most 50, got {text!r}")
    return value


def seed(text: str) -> int:
    """A master seed: a whole number from 0 to 2**63 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to {2**63 - 1}, got {value}")
    return value


def cluster(text: str) -> str:
    """A Dask cluster: ``local``, or a scheduler's address ``tcp://HOST:PORT``."""
    value = text.strip()
    if value == "local":
        return value
    scheme, _, rest = value.rpartition("://")
    host, _, port = rest.rpartition(":")
    if scheme not in ("", "tcp", "tls", "ucx", "inproc") or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(
            f"expected 'local' or a scheduler's address such as tcp://HOST:8786, got {text!r}"
        )
    if not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {port}")
    return value if scheme else f"tcp://{value}"


def bounded_int(minimum: int, maximum: int) -> Callable[[str], int]:
    """An option type: a whole number from ``minimum`` to ``maximum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"expected a number from {minimum} to {maximum:,}, got {value:,}"
            )
        return value

    return parse


MAX_REPLICATIONS = 100_000
"""The most replications of a run: the scenario's own limit for ``replications``."""
