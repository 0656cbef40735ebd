"""Output analysis: summaries and paired differences from running moments.

The running moments must give, whether a table is added whole or a replication at a
time, the numbers of pandas' grouped mean, standard deviation and count over the whole
table (to the last bit here; the results folders promise 1e-9), with keys in the order
they first appear and undefined values left out of the count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats

from simulation.experiment.comparison import (
    PAIRED,
    difference_table,
    paired_differences,
    paired_rows,
)
from simulation.results.analysis import (
    KEYS,
    Moments,
    summarise,
    summary_keys,
    summary_table,
    t_quantile,
)
from tests.imports import imported_by


def replications(seed: int, count: int, keys: int, scale: float) -> list[pd.DataFrame]:
    """Per-replication KPI rows: some keys missing, some values NaN, means far from zero."""
    rng = np.random.default_rng(seed)
    frames = []
    for r in range(count):
        values = rng.normal(1e6, 1e3, keys) * scale
        values[rng.random(keys) < 0.1] = np.nan
        frame = pd.DataFrame(
            {
                "replication": r,
                "pathway": "adult_ed",
                "service": "inpatient",
                "unit": np.where(np.arange(keys) % 3 == 0, "all", "Unit"),
                "place": "all",
                "period": [f"p{i}" for i in range(keys)],
                "kpi": "admissions",
                "value": values,
            }
        )
        keep = rng.random(keys) < 0.9
        frames.append(frame[keep].sample(frac=1.0, random_state=r))  # any row order
    return frames


def pandas_summary(kpis: pd.DataFrame) -> pd.DataFrame:
    """The summary as a grouped aggregation over the whole table computes it."""
    grouped = kpis.groupby(summary_keys(kpis.columns), sort=False, dropna=False)["value"]
    out = grouped.agg(mean="mean", sd="std", n="count").reset_index()
    half = stats.t.ppf(0.975, np.maximum(out["n"] - 1, 1)) * out["sd"] / np.sqrt(out["n"])
    half = half.where(out["n"] > 1)
    return out.assign(ci_low=out["mean"] - half, ci_high=out["mean"] + half, half_width=half)


@pytest.mark.parametrize(("seed", "count", "scale"), [(1, 1, 1.0), (2, 7, 1e-6), (3, 60, 1e9)])
def test_moments_give_the_grouped_summary_whole_or_a_replication_at_a_time(
    seed: int, count: int, scale: float
) -> None:
    frames = replications(seed, count, 40, scale)
    kpis = pd.concat(frames, ignore_index=True)
    expected = pandas_summary(kpis)
    pd.testing.assert_frame_equal(summarise(kpis), expected, check_exact=True)
    moments = Moments(KEYS)
    for frame in frames:
        moments.add(frame)
    pd.testing.assert_frame_equal(summary_table(moments), expected, check_exact=True)


def test_batches_listing_their_keys_alike_or_not_give_the_grouped_summary() -> None:
    # Replications of one scenario list their keys in the same order; one here does not,
    # and the next goes back to the first order.
    first = replications(4, 1, 30, 1.0)[0]
    rng = np.random.default_rng(4)
    alike = [first.assign(replication=r, value=rng.normal(size=len(first))) for r in range(6)]
    alike[3] = alike[3].iloc[::-1]
    kpis = pd.concat(alike, ignore_index=True)
    moments = Moments(KEYS)
    for frame in alike:
        moments.add(frame)
    pd.testing.assert_frame_equal(summary_table(moments), pandas_summary(kpis), check_exact=True)
    with pytest.raises(ValueError, match="more than once"):
        moments.add(pd.concat([alike[4].iloc[:1], alike[4].iloc[:1]]))


def test_keys_are_numbered_alike_whatever_their_text_holds() -> None:
    # Text keys are looked up a whole column at a time; a key that holds odd characters,
    # a missing key or a number is numbered another way where it must be, and a key seen
    # one way is the same key seen the other.
    frames = replications(5, 4, 12, 1.0)
    frames[1] = frames[1].assign(unit=frames[1]["unit"].where(frames[1]["unit"] == "all", "U\x1fx"))
    frames[2] = frames[2].assign(place=frames[2]["place"].astype(object))
    frames[3] = frames[3].assign(unit=frames[3]["unit"].replace("all", None))
    kpis = pd.concat(frames, ignore_index=True)
    moments = Moments(KEYS)
    for frame in frames:
        moments.add(frame)
    pd.testing.assert_frame_equal(summary_table(moments), pandas_summary(kpis), check_exact=True)


def test_arrow_batches_give_the_numbers_frames_give() -> None:
    # A replication read back from its part is added as Arrow; its keys' texts may come
    # in any order, new ones may appear late, and frames and tables may be mixed.
    frames = replications(6, 8, 25, 1.0)
    frames[5] = frames[5].assign(unit=frames[5]["unit"].replace("Unit", "Late unit"))
    frames[6] = frames[6].assign(kpi="discharges")
    kpis = pd.concat(frames, ignore_index=True)
    moments = Moments(KEYS)
    for r, frame in enumerate(frames):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if r == 2:
            table = table.cast(
                pa.schema(
                    [f.with_type(pa.string()) if f.name == "place" else f for f in table.schema]
                )
            )
        moments.add(frame if r % 3 == 1 else table)
    pd.testing.assert_frame_equal(summary_table(moments), pandas_summary(kpis), check_exact=True)
    with pytest.raises(ValueError, match="more than once"):
        moments.add(pa.Table.from_pandas(pd.concat([frames[0].iloc[:1]] * 2), preserve_index=False))


def test_a_key_with_no_value_is_kept_with_n_zero() -> None:
    moments = Moments(["kpi"])
    moments.add(pd.DataFrame({"kpi": ["wait", "beds"], "value": [np.nan, 3.0]}))
    moments.add(pd.DataFrame({"kpi": ["beds"], "value": [5.0]}))
    table = summary_table(moments)
    assert table["kpi"].tolist() == ["wait", "beds"]
    assert table["n"].tolist() == [0, 2]
    assert np.isnan(table["mean"].iloc[0]) and table["mean"].iloc[1] == 4.0
    assert table["sd"].iloc[1] == pytest.approx(np.sqrt(2.0), rel=1e-15)


def test_a_batch_holding_a_key_twice_is_refused() -> None:
    moments = Moments(["kpi"])
    with pytest.raises(ValueError, match="more than once"):
        moments.add(pd.DataFrame({"kpi": ["beds", "beds"], "value": [1.0, 2.0]}))


def pandas_differences(base: pd.DataFrame, alternative: pd.DataFrame) -> pd.DataFrame:
    """Paired means, difference and its sd as a grouped aggregation computes them."""
    merged = base.merge(alternative, on=[*KEYS, "replication"], suffixes=("_base", "_alt"))
    merged = merged.dropna(subset=["value_base", "value_alt"])
    merged["diff"] = merged["value_alt"] - merged["value_base"]
    return (
        merged.groupby(KEYS, sort=False)
        .agg(
            base_mean=("value_base", "mean"),
            alt_mean=("value_alt", "mean"),
            diff_mean=("diff", "mean"),
            diff_sd=("diff", "std"),
            n=("diff", "count"),
        )
        .reset_index()
    )


def test_paired_differences_a_replication_at_a_time_are_those_of_the_whole_tables() -> None:
    base, alternative = replications(4, 9, 30, 1.0), replications(5, 9, 30, 1.0)
    whole = paired_differences(pd.concat(base), pd.concat(alternative))
    columns = ["base_mean", "alt_mean", "diff_mean", "diff_sd", "n"]
    expected = pandas_differences(pd.concat(base), pd.concat(alternative))
    pd.testing.assert_frame_equal(whole[[*KEYS, *columns]], expected, check_exact=True)
    moments = Moments(KEYS, PAIRED)
    for b, a in zip(base, alternative, strict=True):
        moments.add(paired_rows(b, a))
    pd.testing.assert_frame_equal(difference_table(moments), whole, check_exact=True)


def test_the_t_quantile_is_scipys_to_the_bit() -> None:
    freedom = np.concatenate([np.arange(1, 20_001), [0.5, 2.5, 1e6, np.inf]])
    for level in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
        ours, scipys = t_quantile(0.5 + level / 2, freedom), stats.t.ppf(0.5 + level / 2, freedom)
        assert ours.tobytes() == scipys.tobytes()
        assert t_quantile(0.5 + level / 2, 7) == stats.t.ppf(0.5 + level / 2, 7)
    for probability, df in [(0.975, 0), (1.0, 5), (0.0, 5), (0.975, np.nan), (0.975, -1)]:
        np.testing.assert_equal(t_quantile(probability, df), stats.t.ppf(probability, df))


def test_summaries_do_not_import_scipy_stats() -> None:
    # Half a second of imports in the process that writes a run's folder, for nothing.
    code = (
        "import pandas as pd\n"
        "from simulation.results.analysis import summarise\n"
        "summarise(pd.DataFrame({'replication': [0, 1], 'kpi': ['a', 'a'], 'value': [1.0, 2.0]}))\n"
    )
    assert imported_by(code, ["scipy.stats"]) == []
