"""Output analysis: from replications to means with honest confidence intervals.

Each replication is one independent observation of every KPI. The summary of a KPI is
its mean over replications with a 95% confidence interval from Student's t
distribution (``mean ± t(0.975, n-1) · sd / √n``). A KPI that is undefined in some
replications (a mean wait where nobody was admitted) is summarised over those where it
is defined, and ``n`` says how many that was.

The counts, means and standard deviations are kept as running totals per key
(:class:`Moments`), like a tally sheet that is updated as each replication comes in
and never holds the replications themselves. A whole table is summarised by adding
its rows in order, and a results folder written one replication at a time (see
:mod:`simulation.store.writer`) by adding each replication as it is read: both give the
same numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import special

from simulation.core.calendar import financial_year_days
from simulation.results.catalogue import DIMENSIONS

KEYS = [*DIMENSIONS, "period", "kpi"]

_Key = tuple[Hashable, ...]


def _text_keys(batch: pd.DataFrame | pa.Table, keys: Sequence[str]) -> list[pa.Array] | None:
    """The key columns as Arrow large text, one array each; None if a key is not text."""
    if isinstance(batch, pa.Table):
        columns = [batch.column(key) for key in keys]
        if not all(pa.types.is_large_string(c.type) or pa.types.is_string(c.type) for c in columns):
            return None
        arrays = [c.combine_chunks() if c.num_chunks != 1 else c.chunk(0) for c in columns]
        return [
            a if pa.types.is_large_string(a.type) else a.cast(pa.large_string()) for a in arrays
        ]
    if not all(isinstance(batch[key].dtype, pd.StringDtype) for key in keys):
        return None
    return [pa.array(batch[key], type=pa.large_string()) for key in keys]


def _key_frame(batch: pd.DataFrame | pa.Table, keys: Sequence[str]) -> pd.DataFrame:
    """The key columns of a batch as a frame."""
    if isinstance(batch, pa.Table):
        frame: pd.DataFrame = batch.select(list(keys)).to_pandas(use_threads=False)
        return frame
    return batch[list(keys)]


def _values(batch: pd.DataFrame | pa.Table, columns: Sequence[str]) -> np.ndarray:
    """The value columns of a batch as floats, one row per row (NaN where missing)."""
    if isinstance(batch, pa.Table):
        values = [np.asarray(batch.column(c).to_numpy(), dtype=float) for c in columns]
        return np.column_stack(values) if values else np.zeros((batch.num_rows, 0))
    return batch[list(columns)].to_numpy(dtype=float)


class _TextKeys:
    """Numbers rows whose keys are all text, a whole column at a time, as :class:`Moments` does.

    Each key column's texts are numbered as they first come (a column has a few dozen:
    Arrow's ``index_in`` numbers a whole column against them), a row's numbers are
    combined into one integer, and that integer is looked up among the known keys',
    kept sorted. A key's number is the one :class:`Moments` gave it: keys are learnt in
    that order.
    """

    def __init__(self, width: int):
        self._texts: list[dict[str, int]] = [{} for _ in range(width)]
        self._arrays = [pa.array([], type=pa.large_string()) for _ in range(width)]
        self._codes = np.zeros((0, width), dtype=np.int64)
        """Per known key (in number order), the numbers of its texts."""
        self._scale: np.ndarray | None = None
        """What each column's number is multiplied by in the combined integer."""
        self._sorted = np.zeros(0, dtype=np.int64)
        """The known keys' combined integers, sorted."""
        self._order = np.zeros(0, dtype=np.int64)
        """The key numbers of :attr:`_sorted`."""

    @property
    def known(self) -> int:
        """Keys learnt: those numbered ``0 .. known - 1``."""
        return len(self._codes)

    def learn(self, labels: Sequence[_Key]) -> bool:
        """Learn the keys numbered next, in order; False if one is not all text."""
        if not labels:
            return True
        if not all(isinstance(v, str) for label in labels for v in label):
            return False
        texts = cast(Sequence[tuple[str, ...]], labels)
        for column, known in enumerate(self._texts):
            fresh = [label[column] for label in texts if label[column] not in known]
            if fresh:
                self._add_texts(column, fresh)
        codes = np.array(
            [[known[v] for known, v in zip(self._texts, label, strict=True)] for label in texts],
            dtype=np.int64,
        ).reshape(len(labels), len(self._texts))
        numbers = np.arange(self.known, self.known + len(labels), dtype=np.int64)
        self._codes = np.concatenate([self._codes, codes])
        if self._scale is not None:  # the texts are as they were: the new keys slot in
            combined = codes @ self._scale
            order = np.argsort(combined, kind="stable")
            at = np.searchsorted(self._sorted, combined[order])
            self._sorted = np.insert(self._sorted, at, combined[order])
            self._order = np.insert(self._order, at, numbers[order])
        return True

    @property
    def combining(self) -> bool:
        """Whether integers combined since the texts were last numbered still hold."""
        return self._scale is not None

    def combine(self, arrays: Sequence[pa.Array]) -> np.ndarray | None:
        """Each row's combined integer (numbering new texts); None if it would overflow."""
        columns = [self._numbers(column, array) for column, array in enumerate(arrays)]
        if self._scale is None:
            sizes = [max(1, len(texts)) for texts in self._texts]
            if np.prod(np.array(sizes, dtype=float)) >= 2.0**62:
                return None
            scale = np.ones(len(sizes), dtype=np.int64)
            for column in range(len(sizes) - 2, -1, -1):
                scale[column] = scale[column + 1] * sizes[column + 1]
            combined = self._codes @ scale
            self._order = np.argsort(combined, kind="stable")
            self._sorted = combined[self._order]
            self._scale = scale
        rows: np.ndarray = sum(
            (numbers * factor for numbers, factor in zip(columns, self._scale, strict=True)),
            np.zeros(len(arrays[0]) if arrays else 0, dtype=np.int64),
        )
        return rows

    def find(self, rows: np.ndarray) -> np.ndarray:
        """The key number of each combined integer, -1 where it is not known."""
        if not len(self._sorted):
            return np.full(len(rows), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted, rows), len(self._sorted) - 1)
        return np.where(self._sorted[at] == rows, self._order[at], -1)

    def _numbers(self, column: int, array: pa.Array) -> np.ndarray:
        """The numbers of a column's texts, numbering the texts not seen before."""
        numbers = pc.index_in(array, value_set=self._arrays[column])
        if numbers.null_count:
            unseen = pc.unique(array.filter(numbers.is_null())).to_pylist()
            self._add_texts(column, unseen)
            numbers = pc.index_in(array, value_set=self._arrays[column])
        return np.asarray(numbers.to_numpy(), dtype=np.int64)

    def _add_texts(self, column: int, texts: Sequence[str]) -> None:
        """Number texts of a column (the combined integers change: they are made again)."""
        known = self._texts[column]
        for text in texts:
            known.setdefault(text, len(known))
        self._arrays[column] = pa.array(list(known), type=pa.large_string())
        self._scale = None


def t_quantile(probability: float, degrees_of_freedom: Any) -> Any:
    """Student's t quantile (``scipy.stats.t.ppf``), for one or an array of degrees of freedom.

    For a probability strictly between 0 and 1 and positive degrees of freedom (every
    interval's), ``scipy.stats.t.ppf`` returns ``scipy.special.stdtrit``, bit for bit,
    and that is what is returned: ``scipy.stats`` takes half a second of CPU to import
    (a third of what a pool worker would import, and as much as a run's process spends
    writing a few dozen replications), so it is imported, here, only for other arguments.
    """
    probabilities = np.asarray(probability, dtype=float)
    freedom = np.asarray(degrees_of_freedom, dtype=float)
    if np.all((probabilities > 0) & (probabilities < 1)) and np.all(freedom > 0):
        return special.stdtrit(freedom, probabilities)
    from scipy import stats

    return stats.t.ppf(probability, degrees_of_freedom)


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float, int]:
    """Mean, lower and upper bound of a t confidence interval, and n (NaNs dropped)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    n = len(values)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    mean = float(values.mean())
    if n == 1:
        return mean, float("nan"), float("nan"), 1
    half = float(t_quantile(0.5 + level / 2, n - 1) * values.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half, n


def summary_keys(columns: Iterable[Hashable]) -> list[str]:
    """The key columns a summary groups by: ``scenario`` if present, then :data:`KEYS`."""
    present = set(columns)
    return [c for c in ("scenario", *KEYS) if c in present]


class Moments:
    """Count, mean and standard deviation of value columns per key, built up in batches.

    Keys are numbered in the order they first appear. Each batch adds at most one value
    per key and column (one replication's rows); NaN values are not counted. Only the
    running figures are kept: per key and column the count, a compensated sum (for the
    mean) and Welford's running mean and sum of squared deviations (for the standard
    deviation), so a key's numbers are those that grouping every row of a table in order
    gives, to the last bit, however the rows arrive in batches.

    >>> moments = Moments(["kpi"])
    >>> moments.add(pd.DataFrame({"kpi": ["a", "b"], "value": [1.0, 10.0]}))
    >>> moments.add(pd.DataFrame({"kpi": ["b", "a"], "value": [float("nan"), 3.0]}))
    >>> moments.count[:, 0].tolist(), moments.mean[:, 0].tolist(), moments.sd[:, 0].tolist()
    ([2, 1], [2.0, 10.0], [1.4142135623730951, nan])
    """

    def __init__(self, keys: Sequence[str], columns: Sequence[str] = ("value",)):
        self.keys = list(keys)
        self.columns = list(columns)
        self._ids: dict[_Key, int] = {}
        self._labels: list[_Key] = []
        shape = (0, len(self.columns))
        self._count = np.zeros(shape, dtype=np.int64)
        self._sum = np.zeros(shape)
        self._compensation = np.zeros(shape)
        self._mean = np.zeros(shape)
        self._squares = np.zeros(shape)
        self._text: _TextKeys | None = _TextKeys(len(self.keys))
        """Numbers keys that are all text a column at a time; None once a key is not text."""

    @classmethod
    def of(
        cls, frame: pd.DataFrame, keys: Sequence[str], columns: Sequence[str] = ("value",)
    ) -> Moments:
        """The moments of a whole table, each key's values taken in the table's order.

        A key may appear any number of times: its first appearances form the first
        batch, its second appearances the second, and so on.
        """
        moments = cls(keys, columns)
        if frame.empty:
            return moments
        grouped = frame.groupby(list(keys), sort=False, dropna=False)
        ids = grouped.ngroup().to_numpy(dtype=np.int64)
        occurrence = grouped.cumcount().to_numpy(dtype=np.int64)
        firsts = frame.loc[occurrence == 0, list(keys)]
        moments._register(list(firsts.itertuples(index=False, name=None)))
        values = frame[moments.columns].to_numpy(dtype=float)
        order = np.argsort(occurrence, kind="stable")
        bounds = np.cumsum(np.bincount(occurrence))[:-1]
        for rows in np.split(order, bounds):
            moments._update(ids[rows], values[rows])
        return moments

    def __len__(self) -> int:
        return len(self._labels)

    def add(self, batch: pd.DataFrame | pa.Table) -> None:
        """Add one batch: rows in which no key appears twice, such as one replication's.

        The batch is a pandas frame or an Arrow table (a replication read back from its
        part); both give the same numbers.
        """
        arrays = _text_keys(batch, self.keys)
        ids = self._text_ids(arrays) if arrays is not None else None
        if ids is None:
            ids = self._row_ids(_key_frame(batch, self.keys))
        # Key numbers are 0, 1, 2, ...: marking each one's place finds a repeat at once.
        marks = np.zeros(len(self._labels), dtype=bool)
        marks[ids] = True
        if np.count_nonzero(marks) != len(ids):
            raise ValueError("a batch of moments holds a key more than once")
        self._update(ids, _values(batch, self.columns))

    def _row_ids(self, keys: pd.DataFrame) -> np.ndarray:
        """Each row's key number, the keys taken as tuples of Python values."""
        if keys.isna().any(axis=None):  # NaN never equals itself: one label for all of them
            keys = keys.astype(object).where(keys.notna(), None)
        # Whole columns to Python lists, then zipped: the same labels as walking the rows,
        # without asking text columns for one element at a time.
        rows = list(zip(*(keys[key].tolist() for key in self.keys), strict=True))
        self._register(rows)
        return np.fromiter((self._ids[row] for row in rows), dtype=np.int64, count=len(rows))

    def _text_ids(self, arrays: list[pa.Array]) -> np.ndarray | None:
        """Each row's key number when every key is text, looked up a whole column at a time.

        Only keys not seen before become tuples (see :class:`_TextKeys`). None when a key
        is missing, or a key numbered before is not text (then :meth:`_row_ids` numbers
        the rows).
        """
        text = self._text
        if text is None or not arrays or any(array.null_count for array in arrays):
            return None
        if not text.learn(self._labels[text.known :]):
            self._text = None
            return None
        rows = text.combine(arrays)
        if rows is None:
            return None
        ids = text.find(rows)
        new = np.flatnonzero(ids < 0)
        if len(new):
            taken = [array.take(pa.array(new)).to_pylist() for array in arrays]
            self._register(list(zip(*taken, strict=True)))
            text.learn(self._labels[text.known :])
            if text.combining:  # only the new keys to look up
                ids[new] = text.find(rows[new])
            else:
                rows = text.combine(arrays)
                if rows is None:
                    return None
                ids = text.find(rows)
        return ids

    def _register(self, rows: Sequence[_Key]) -> None:
        """Number the keys not seen before, in the order they come."""
        for row in rows:
            if row not in self._ids:
                self._ids[row] = len(self._labels)
                self._labels.append(row)
        grow = len(self._labels) - len(self._count)
        if grow > 0:
            extra = max(grow, len(self._count))  # doubling: amortised constant cost
            pad = ((0, extra), (0, 0))
            self._count = np.pad(self._count, pad)
            self._sum = np.pad(self._sum, pad)
            self._compensation = np.pad(self._compensation, pad)
            self._mean = np.pad(self._mean, pad)
            self._squares = np.pad(self._squares, pad)

    def _update(self, ids: np.ndarray, values: np.ndarray) -> None:
        """Add one value per listed key (``ids`` distinct); NaN values are skipped."""
        seen = ~np.isnan(values)
        count = self._count[ids] + seen
        total, carried = self._sum[ids], self._compensation[ids]
        old = self._mean[ids]
        with np.errstate(invalid="ignore", divide="ignore"):
            # Compensated (Kahan) summation, as pandas' grouped mean does it.
            y = values - carried
            t = total + y
            compensation = (t - total) - y
            compensation[np.isnan(compensation)] = 0.0  # an infinite value: no carry
            # Welford's update of the mean and of the sum of squared deviations.
            mean = old + (values - old) / count
            squares = self._squares[ids] + (values - mean) * (values - old)
        self._count[ids] = count
        self._sum[ids] = np.where(seen, t, total)
        self._compensation[ids] = np.where(seen, compensation, carried)
        self._mean[ids] = np.where(seen, mean, old)
        self._squares[ids] = np.where(seen, squares, self._squares[ids])

    def labels(self) -> pd.DataFrame:
        """The keys, one row each, in the order they first appeared."""
        if not self._labels:
            return pd.DataFrame({key: pd.Series(dtype=object) for key in self.keys})
        return pd.DataFrame.from_records(self._labels, columns=self.keys)

    @property
    def count(self) -> np.ndarray:
        """Values counted per key (rows) and column."""
        return self._count[: len(self)]

    @property
    def mean(self) -> np.ndarray:
        """Mean per key and column; NaN where nothing was counted."""
        count = self.count
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count == 0, np.nan, self._sum[: len(self)] / count)

    @property
    def sd(self) -> np.ndarray:
        """Sample standard deviation per key and column; NaN below two values."""
        count = self.count
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count <= 1, np.nan, np.sqrt(self._squares[: len(self)] / (count - 1)))


def summary_table(moments: Moments, level: float = 0.95) -> pd.DataFrame:
    """The summary of :func:`summarise` from the moments of a table's ``value`` column."""
    summary = moments.labels()
    summary["mean"] = moments.mean[:, 0]
    summary["sd"] = moments.sd[:, 0]
    summary["n"] = moments.count[:, 0]
    quantile = t_quantile(0.5 + level / 2, np.maximum(summary["n"] - 1, 1))
    half = quantile * summary["sd"] / np.sqrt(summary["n"])
    half = half.where(summary["n"] > 1)
    summary["ci_low"] = summary["mean"] - half
    summary["ci_high"] = summary["mean"] + half
    summary["half_width"] = half
    summary["n"] = summary["n"].astype(int)
    return summary


def summarise(kpis: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean, standard deviation and confidence interval of every KPI over replications.

    ``kpis`` has one row per replication and KPI (columns ``replication``, the
    dimensions, ``period``, ``kpi``, ``value``); extra key columns such as ``scenario``
    are kept. Rows are summarised in the order given, keys in the order they first appear.
    """
    return summary_table(Moments.of(kpis, summary_keys(kpis.columns)), level)


def part_years(start_date: dt.date, horizon_days: float) -> set[str]:
    """The financial years only partly in a period of ``horizon_days`` from ``start_date``."""
    days = financial_year_days(start_date, horizon_days)
    return {year for year, (n, full) in days.items() if n < full}


def mark_part_years(
    table: pd.DataFrame, column: str, start_date: dt.date, horizon_days: float
) -> pd.DataFrame:
    """``table`` with a ``part_year`` column: a financial year only partly in the period.

    ``2027/28`` of a 730-day horizon from 1 April 2026 has 365 of its 366 days in it, so
    its rows are ``True``; rows of the whole period, and of whole years, are ``False``.
    """
    part = part_years(start_date, horizon_days)
    out = table.copy()
    out["part_year"] = out[column].isin(part) if part else False
    return out
