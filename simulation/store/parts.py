"""Part files: one finished replication saved as data, and checked before it is believed.

A streamed run (see :mod:`simulation.store.resume`) saves each replication as it
finishes in a part file, so that an interrupted run can be resumed. A part is data,
never code: it is read back by a parser that knows exactly what may be in it, like a
form whose every box is checked before it is filed, so a damaged or foreign file is
found out and its replication run again, and a crafted one can do nothing.

One part file holds, in order:

- the 16 bytes :data:`MAGIC`;
- the length of a JSON header as 8 bytes, little-endian, then the header: the format,
  the scenario's name, the replication number, its events processed and wall time,
  its end state, and the name and length in bytes of each table that follows;
- each table (``kpis``, ``monthly``, ``ledger`` and, when the event log is kept,
  ``events``) as an Arrow IPC stream, compressed with zstd.

:func:`decode_part` checks all of it against what the replication must be (its
scenario, its number, whether it keeps events) and raises :class:`DamagedPart` with one
sentence otherwise.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import pandas as pd
import pyarrow as pa

from simulation.experiment.experiment import ReplicationResult
from simulation.store.layout import EVENTS, KPI_COLUMNS, KPIS, LEDGER, LEDGER_COLUMNS, MONTHLY

MAGIC = b"PATHWAYS-PART\x00\x01\n"
"""The first bytes of every part file (the last two name the format)."""
assert len(MAGIC) == 16
_LENGTH = struct.Struct("<Q")
_FORMAT = 1
_MAX_HEADER = 1 << 24
_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    KPIS: KPI_COLUMNS,
    MONTHLY: (
        "replication",
        "month",
        "financial_year",
        "pathway",
        "service",
        "resource",
        "measure",
        "value",
    ),
    LEDGER: ("replication", *LEDGER_COLUMNS),
}
"""The columns, in order, of each table a part always holds; ``events`` has its own."""


class DamagedPart(Exception):
    """A part file that is not what its replication saved; the message says why."""


def encode_part(scenario: str, result: ReplicationResult) -> bytes:
    """The bytes of a part file holding ``result``, a replication of ``scenario``."""
    tables = {KPIS: result.kpis, MONTHLY: result.monthly, LEDGER: result.ledger}
    if result.events is not None:
        tables[EVENTS] = result.events
    blobs = {name: _table_bytes(frame) for name, frame in tables.items()}
    header = {
        "format": _FORMAT,
        "scenario": scenario,
        "replication": result.replication,
        "events_processed": result.events_processed,
        "wall_seconds": result.wall_seconds,
        "end_state": _plain(result.end_state),
        "tables": [[name, len(blob)] for name, blob in blobs.items()],
    }
    text = json.dumps(header, allow_nan=True, separators=(",", ":")).encode()
    return b"".join([MAGIC, _LENGTH.pack(len(text)), text, *blobs.values()])


def decode_part(
    data: bytes, scenario: str, replication: int, keep_events: bool
) -> ReplicationResult:
    """The replication a part file holds, checked to be ``scenario``'s ``replication``.

    Raises :class:`DamagedPart` if the bytes are not a whole part file of this format,
    or hold another scenario's or replication's results, or tables not shaped as a
    replication's are.
    """
    if not data.startswith(MAGIC):
        raise DamagedPart("it is not a part file of this format")
    start = len(MAGIC) + _LENGTH.size
    if len(data) < start:
        raise DamagedPart("it is cut short")
    (length,) = _LENGTH.unpack_from(data, len(MAGIC))
    if length > min(_MAX_HEADER, len(data) - start):
        raise DamagedPart("it is cut short")
    try:
        header = json.loads(data[start : start + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DamagedPart("its header is not readable") from None
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        raise DamagedPart("its header is not that of a part file of this format")
    if header.get("scenario") != scenario:
        raise DamagedPart(
            f"it holds results of another scenario, {str(header.get('scenario'))[:40]!r}"
        )
    number = header.get("replication")
    if type(number) is not int or number != replication:
        raise DamagedPart(f"it holds another replication, {number!r}")
    events_processed, wall = header.get("events_processed"), header.get("wall_seconds")
    if type(events_processed) is not int or events_processed < 0:
        raise DamagedPart("its count of events is not a whole number")
    if not isinstance(wall, float) or not math.isfinite(wall):
        raise DamagedPart("its wall time is not a number")
    expected = [KPIS, MONTHLY, LEDGER, *([EVENTS] if keep_events else [])]
    listed = header.get("tables")
    if not isinstance(listed, list) or [_name(entry) for entry in listed] != expected:
        raise DamagedPart(f"it does not hold the tables {', '.join(expected)}")
    frames: dict[str, pd.DataFrame] = {}
    offset = start + length
    for name, size in listed:
        if type(size) is not int or size < 0 or offset + size > len(data):
            raise DamagedPart(f"its {name} table is cut short")
        frames[name] = _read_table(name, data[offset : offset + size], replication)
        offset += size
    if offset != len(data):
        raise DamagedPart("it has bytes after its last table")
    end_state = _unplain(header.get("end_state"))
    if not isinstance(end_state, dict):
        raise DamagedPart("its end state is malformed")
    return ReplicationResult(
        replication=replication,
        kpis=frames[KPIS],
        monthly=frames[MONTHLY],
        end_state=end_state,
        events_processed=events_processed,
        wall_seconds=wall,
        ledger=frames[LEDGER],
        events=frames.get(EVENTS),
    )


def _name(entry: object) -> object:
    """The table name of a header's ``[name, length]`` entry (None if malformed)."""
    if isinstance(entry, list) and len(entry) == 2:
        return entry[0]
    return None


def _table_bytes(frame: pd.DataFrame) -> bytes:
    """A table as a compressed Arrow IPC stream (pandas' dtypes kept in its metadata)."""
    table = pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=_OPTIONS) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _read_table(name: str, data: bytes, replication: int) -> pd.DataFrame:
    """One table of a part, checked: its columns, their types, its replication number."""
    try:
        table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    except (pa.ArrowException, ValueError, OSError):
        raise DamagedPart(f"its {name} table is not readable") from None
    columns = tuple(table.column_names)
    wanted = TABLE_COLUMNS.get(name)
    if wanted is not None and columns != wanted:
        raise DamagedPart(f"its {name} table has the columns {', '.join(columns)}")
    if not columns or columns[0] != "replication":
        raise DamagedPart(f"its {name} table has no replication column")
    for field in table.schema:
        kind = field.type
        if field.name == "replication":
            ok = pa.types.is_int64(kind)
        elif field.name == "value":
            ok = pa.types.is_floating(kind)
        else:
            ok = any(
                check(kind)
                for check in (
                    pa.types.is_string,
                    pa.types.is_large_string,
                    pa.types.is_integer,
                    pa.types.is_floating,
                    pa.types.is_boolean,
                    pa.types.is_null,
                )
            )
        if not ok:
            raise DamagedPart(f"its {name} table's column {field.name} is {kind}")
    numbers = table.column("replication").unique().to_pylist()
    if numbers and numbers != [replication]:
        raise DamagedPart(f"its {name} table holds rows of replication {numbers[0]}")
    try:
        frame: pd.DataFrame = table.to_pandas(use_threads=False)
    except (pa.ArrowException, ValueError, TypeError):
        raise DamagedPart(f"its {name} table is not readable") from None
    return frame


def _plain(value: Any) -> Any:
    """An end-state value as JSON: dicts and tuples tagged, so they come back as they were."""
    if isinstance(value, dict):
        return {"dict": [[_plain(k), _plain(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"tuple": [_plain(v) for v in value]}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if hasattr(value, "item"):  # a numpy scalar
        return _plain(value.item())
    raise TypeError(f"an end state cannot hold {type(value).__name__}")


def _unplain(value: Any) -> Any:
    """The inverse of :func:`_plain`, accepting nothing else."""
    if isinstance(value, list):
        return [_unplain(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"dict"} and isinstance(value["dict"], list):
            pairs = value["dict"]
            if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise DamagedPart("its end state is malformed")
            return {_key(_unplain(k)): _unplain(v) for k, v in pairs}
        if set(value) == {"tuple"} and isinstance(value["tuple"], list):
            return tuple(_unplain(v) for v in value["tuple"])
        raise DamagedPart("its end state is malformed")
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise DamagedPart("its end state is malformed")


def _key(value: Any) -> Any:
    """A dict key: text, a number or a tuple of them (a list cannot be a key)."""
    if isinstance(value, list | dict):
        raise DamagedPart("its end state is malformed")
    return value
