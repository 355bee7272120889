"""Residual diagnostics: the numbers behind a normal Q–Q plot.

:func:`qq_points` gives the points and the reference line that :func:`mlmlab.plots.plot_resid_qq` and
:func:`mlmlab.plots.plot_ranef_qq` draw, as a tidy table a learner can inspect or plot themselves.

Taught in lesson 10.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mlmlab._checks import argument_error

__all__ = ["qq_points"]


def qq_points(values) -> pd.DataFrame:
    """Points of a normal QQ plot and R's ``qqline`` through the quartiles.

    Parameters
    ----------
    values : array-like
        The sample (NaNs are dropped); at least three values.

    Returns
    -------
    pandas.DataFrame
        One row per value, sorted, columns ``theoretical`` (standard-normal quantile at
        (i − a) / (n + 1 − 2a), a = 3/8 for n ≤ 10 else 1/2, as R's ``ppoints``), ``sample``
        and ``line`` (the reference line through the first and third quartiles).

    Raises
    ------
    MlmlabInputError
        If fewer than three finite values are given.

    Examples
    --------
    >>> qq_points([3.0, 1.0, 2.0]).round(3)
       theoretical  sample   line
    0       -0.869     1.0  1.355
    1        0.000     2.0  2.000
    2        0.869     3.0  2.645

    Taught in lesson 10.
    """
    x = np.asarray(values, dtype=float).ravel()
    x = np.sort(x[np.isfinite(x)])
    n = x.size
    if n < 3:
        raise argument_error("qq_points", "values", "at least three finite numbers", values)
    a = 3 / 8 if n <= 10 else 0.5
    theo = stats.norm.ppf((np.arange(1, n + 1) - a) / (n + 1 - 2 * a))
    q_sample = np.quantile(x, [0.25, 0.75])
    q_theo = stats.norm.ppf([0.25, 0.75])
    slope = (q_sample[1] - q_sample[0]) / (q_theo[1] - q_theo[0])
    intercept = q_sample[0] - slope * q_theo[0]
    return pd.DataFrame({"theoretical": theo, "sample": x, "line": intercept + slope * theo})
