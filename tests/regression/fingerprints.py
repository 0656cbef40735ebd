"""Fingerprints of every shipped scenario's outputs, to prove a change leaves them alone.

For each scenario in ``scenarios/`` two replications are run with the event log kept, and
each output (KPI rows, monthly series, ledger, event log, end state, event count) is
reduced to a SHA-256 over its columns, types and exact values. A refactor that promises
unchanged results must leave every fingerprint as it was::

    python -m tests.regression.fingerprints            # compare with fingerprints.json
    python -m tests.regression.fingerprints --write    # after an intended change of results

``tests/regression/test_fingerprints.py`` runs the comparison as part of ``make test``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

import simulation as sim

ROOT = Path(__file__).resolve().parents[2]
STORED = Path(__file__).with_name("fingerprints.json")
REPLICATIONS = (0, 1)


def frame_digest(frame: pd.DataFrame | None) -> str:
    """SHA-256 of a frame's column names, types and exact values, row by row."""
    if frame is None:
        return "none"
    digest = hashlib.sha256()
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    rows = pd.util.hash_pandas_object(frame, index=True, categorize=False)
    digest.update(rows.to_numpy().tobytes())
    return digest.hexdigest()


def value_digest(value: Any) -> str:
    """SHA-256 of a plain value's repr, with every mapping's items in sorted order."""
    text = repr(_sorted(value))
    return hashlib.sha256(text.encode()).hexdigest()


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return sorted((repr(k), _sorted(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return [_sorted(v) for v in value]
    return value


def shipped_scenarios() -> list[Path]:
    """Every scenario file shipped in scenarios/."""
    return sorted((ROOT / "scenarios").glob("*.yaml"))


def fingerprints() -> dict[str, dict[str, str]]:
    """Each shipped scenario's output fingerprints, replication by replication."""
    found: dict[str, dict[str, str]] = {}
    for path in shipped_scenarios():
        scenario = sim.load(path)
        for replication in REPLICATIONS:
            result = sim.run_replication(scenario, replication, keep_events=True)
            found[f"{path.name} replication {replication}"] = {
                "kpis": frame_digest(result.kpis),
                "monthly": frame_digest(result.monthly),
                "ledger": frame_digest(result.ledger),
                "events": frame_digest(result.events),
                "end_state": value_digest(result.end_state),
                "events_processed": str(result.events_processed),
            }
    return found


def differences(stored: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """One line for every output whose fingerprint differs, or that is new or missing."""
    lines = []
    for key in sorted(set(stored) | set(now)):
        if key not in now:
            lines.append(f"{key}: no longer produced")
        elif key not in stored:
            lines.append(f"{key}: new, not in {STORED.name}")
        else:
            lines.extend(
                f"{key}: {part} changed"
                for part in sorted(set(stored[key]) | set(now[key]))
                if stored[key].get(part) != now[key].get(part)
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Compare the outputs with the stored fingerprints, or store them anew."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="store the current fingerprints")
    args = parser.parse_args(argv)
    now = fingerprints()
    if args.write:
        STORED.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"wrote {len(now)} fingerprints to {STORED}")
        return 0
    lines = differences(json.loads(STORED.read_text()), now)
    print("\n".join(lines) or f"all {len(now)} fingerprints unchanged")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
