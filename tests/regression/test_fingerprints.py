"""Every shipped scenario's outputs equal the stored fingerprints, bit for bit."""

from __future__ import annotations

import json

from tests.regression import fingerprints


def test_shipped_scenarios_give_the_stored_outputs() -> None:
    stored = json.loads(fingerprints.STORED.read_text())
    assert fingerprints.differences(stored, fingerprints.fingerprints()) == []


def test_a_changed_output_is_named() -> None:
    stored = {"a.yaml replication 0": {"kpis": "1", "events": "2"}}
    now = {"a.yaml replication 0": {"kpis": "1", "events": "3"}, "b.yaml replication 0": {}}
    assert fingerprints.differences(stored, now) == [
        "a.yaml replication 0: events changed",
        "b.yaml replication 0: new, not in fingerprints.json",
    ]
