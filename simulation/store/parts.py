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
sentence otherwise. :func:`decode_saved` checks it alike and keeps the tables as Arrow
(:class:`SavedReplication`): the results files are written from them as they are, and
a table becomes a pandas frame only where one is needed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from simulation.experiment.experiment import ReplicationResult, run_replication
from simulation.scenario.schema import Scenario
from simulation.store.layout import EVENTS, KPI_COLUMNS, KPIS, LEDGER, LEDGER_COLUMNS, MONTHLY

MAGIC = b"PATHWAYS-PART\x00\x01\n"
"""The first bytes of every part file (the last two name the format)."""
assert len(MAGIC) == 16
_LENGTH = struct.Struct("<Q")
_FORMAT = 1
_MAX_HEADER = 1 << 24
_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd", use_threads=False)
_READ_OPTIONS = pa.ipc.IpcReadOptions(use_threads=False)
# One thread a table: a part is made in a pool worker beside others, and read in the
# process that started them while they run, so there is no core left for Arrow's own
# threads to use, and waking them costs more than they save (a third more CPU for a
# replication's tables, compressed or read back).

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


def replicate_part(
    scenario: Scenario, replication: int, keep_events: bool
) -> tuple[str, int, bytes]:
    """Run one replication and encode it as a part, in the worker: the parent writes bytes.

    This module is all a pool worker needs for it (see
    :data:`~simulation.experiment.executors.WORKER_MODULES`).
    """
    result = run_replication(scenario, replication, keep_events)
    return scenario.name, replication, encode_part(scenario.name, result)


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


class Tables:
    """A replication's tables, each held as a pandas frame or as Arrow, the other made when asked.

    A replication run in this process has frames; one read from its part has Arrow tables,
    which the results files are written from as they are (see
    :mod:`simulation.store.writer`), so a table becomes a frame only where one is needed
    (a CSV, a comparison's pairs) and a frame becomes Arrow only where that is.
    """

    __slots__ = ("_arrow", "_frames")

    def __init__(
        self,
        frames: Mapping[str, pd.DataFrame] | None = None,
        arrow: Mapping[str, pa.Table] | None = None,
    ):
        self._frames: dict[str, pd.DataFrame] = dict(frames or {})
        self._arrow: dict[str, pa.Table] = dict(arrow or {})

    def __contains__(self, name: object) -> bool:
        return name in self._frames or name in self._arrow

    def frame(self, name: str) -> pd.DataFrame:
        """The table as a pandas frame (as read back from Arrow, with pandas' own dtypes)."""
        frame = self._frames.get(name)
        if frame is None:
            frame = self._arrow[name].to_pandas(use_threads=False)
            self._frames[name] = frame
        return frame

    def arrow(self, name: str) -> pa.Table:
        """The table as Arrow (as :func:`arrow_of` makes it from a frame)."""
        table = self._arrow.get(name)
        if table is None:
            table = arrow_of(self._frames[name])
            self._arrow[name] = table
        return table

    def rows(self, name: str) -> int:
        """The table's number of rows."""
        table = self._arrow.get(name)
        return table.num_rows if table is not None else len(self._frames[name])

    def has_frame(self, name: str) -> bool:
        """Whether the table is held as a frame (as it was run, or asked for already)."""
        return name in self._frames


def arrow_of(frame: pd.DataFrame) -> pa.Table:
    """A frame as an Arrow table: its columns, with pandas' dtypes kept in the metadata."""
    return pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)


@dataclass
class SavedReplication:
    """A replication read back from its part: checked Arrow tables, frames made when asked.

    It offers what a :class:`~simulation.experiment.experiment.ReplicationResult` does
    (``kpis``, ``monthly``, ``ledger`` and ``events`` as frames), and :attr:`tables`.
    """

    replication: int
    tables: Tables = dataclasses.field(repr=False)
    end_state: dict[str, Any]
    events_processed: int
    wall_seconds: float

    @property
    def kpis(self) -> pd.DataFrame:
        """Per-replication KPI rows."""
        return self.tables.frame(KPIS)

    @property
    def monthly(self) -> pd.DataFrame:
        """Monthly series."""
        return self.tables.frame(MONTHLY)

    @property
    def ledger(self) -> pd.DataFrame:
        """The ledger."""
        return self.tables.frame(LEDGER)

    @property
    def events(self) -> pd.DataFrame | None:
        """The episode records, if they were kept."""
        return self.tables.frame(EVENTS) if EVENTS in self.tables else None

    def result(self) -> ReplicationResult:
        """The replication with every table a frame, as it was run."""
        return ReplicationResult(
            replication=self.replication,
            kpis=self.kpis,
            monthly=self.monthly,
            end_state=self.end_state,
            events_processed=self.events_processed,
            wall_seconds=self.wall_seconds,
            ledger=self.ledger,
            events=self.events,
        )


def decode_part(
    data: bytes, scenario: str, replication: int, keep_events: bool
) -> ReplicationResult:
    """The replication a part file holds, checked to be ``scenario``'s ``replication``.

    Raises :class:`DamagedPart` if the bytes are not a whole part file of this format,
    or hold another scenario's or replication's results, or tables not shaped as a
    replication's are.
    """
    return decode_saved(data, scenario, replication, keep_events).result()


def decode_saved(
    data: bytes, scenario: str, replication: int, keep_events: bool, from_worker: bool = False
) -> SavedReplication:
    """As :func:`decode_part`, the tables kept as Arrow, each made a frame when asked for.

    Every table of a part read from a file is made a frame at once, to be sure it can be
    (a damaged file may hold text that is not text). The bytes a worker has just sent
    (``from_worker``) were made from frames a moment ago: the first table of each schema
    is made a frame to be sure, and later ones only when a frame is asked for.
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
    tables: dict[str, pa.Table] = {}
    frames: dict[str, pd.DataFrame] = {}
    offset = start + length
    for name, size in listed:
        if type(size) is not int or size < 0 or offset + size > len(data):
            raise DamagedPart(f"its {name} table is cut short")
        table = _read_table(name, data[offset : offset + size], replication)
        tables[name] = table
        if not from_worker or not _converted_before(table.schema):
            frames[name] = _frame_of(name, table)
            if from_worker and len(_CONVERTED) < _MAX_CONVERTED:
                _CONVERTED.append(table.schema)
        offset += size
    if offset != len(data):
        raise DamagedPart("it has bytes after its last table")
    end_state = _unplain(header.get("end_state"))
    if not isinstance(end_state, dict):
        raise DamagedPart("its end state is malformed")
    return SavedReplication(
        replication=replication,
        tables=Tables(frames, tables),
        end_state=end_state,
        events_processed=events_processed,
        wall_seconds=wall,
    )


def _name(entry: object) -> object:
    """The table name of a header's ``[name, length]`` entry (None if malformed)."""
    if isinstance(entry, list) and len(entry) == 2:
        return entry[0]
    return None


def _table_bytes(frame: pd.DataFrame) -> bytes:
    """A table as a compressed Arrow IPC stream (pandas' dtypes kept in its metadata)."""
    table = arrow_of(frame)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=_OPTIONS) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _read_table(name: str, data: bytes, replication: int) -> pa.Table:
    """One table of a part, checked: its columns, their types, its replication number."""
    try:
        table = pa.ipc.open_stream(pa.py_buffer(data), options=_READ_OPTIONS).read_all()
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
    return table


def _frame_of(name: str, table: pa.Table) -> pd.DataFrame:
    """One table of a part as a frame; :class:`DamagedPart` if it cannot be one."""
    try:
        frame: pd.DataFrame = table.to_pandas(use_threads=False)
    except (pa.ArrowException, ValueError, TypeError):
        raise DamagedPart(f"its {name} table is not readable") from None
    return frame


_CONVERTED: list[pa.Schema] = []
"""Schemas (with pandas' metadata) of tables a worker sent that have been made frames."""
_MAX_CONVERTED = 64


def _converted_before(schema: pa.Schema) -> bool:
    """Whether a table of this schema (types and pandas' metadata) has been made a frame."""
    return any(schema.equals(known, check_metadata=True) for known in _CONVERTED)


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
