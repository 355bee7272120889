"""Export the data sets that lessons and assignments simulate, so that R's lme4 can fit them too.

Run from the repository root:  .venv/bin/python tools/export_lesson_data.py

Each function below repeats, line for line, the seeded code of one notebook cell (the notebook and cell
are named in its docstring) and returns the data frame that cell builds, so the data are exactly the ones
the lesson fits. The script writes them to tests/reference/data/NAME.csv (floats written so that they read
back exactly) and describes them in tests/reference/data/lesson_data.json: columns, the grouping columns
with their levels (as text, in pandas' order), where they are used. tools/lme4_reference.R reads both;
tests/test_lme4_lessons.py checks that these functions still reproduce the CSV files.

Only mlmlab, numpy and pandas are imported: the data must not depend on anything else.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

import mlmlab
from mlmlab.simulate import simulate_crossed, simulate_three_level

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "tests" / "reference" / "data"


def lesson03_tutorial() -> pd.DataFrame:
    """notebooks/03_icc.ipynb: the tutorial's data, re-created with RandomState(42)."""
    legacy = np.random.RandomState(42)
    n_schools, n_students_per = 30, 20
    n = n_schools * n_students_per
    school_id = np.repeat(np.arange(n_schools), n_students_per)
    school_effect = legacy.randn(n_schools) * 2  # u0j, SD 2
    X = legacy.randn(n)
    Y = 5 + school_effect[school_id] + 0.8 * X + legacy.randn(n) * 1.5
    return pd.DataFrame({"Y": Y, "X": X, "school": school_id})


def lesson04_slope_sim() -> pd.DataFrame:
    """notebooks/04_random_slopes.ipynb, section "A singular (boundary) fit": first draws of rng(404)."""
    rng = np.random.default_rng(404)
    n_schools, n_per = 30, 20
    school = np.repeat(np.arange(n_schools), n_per)
    u0 = rng.normal(0, 2, size=n_schools)
    x = rng.normal(size=n_schools * n_per)
    y = 5 + u0[school] + 0.8 * x + rng.normal(0, 1.5, size=n_schools * n_per)
    return pd.DataFrame({"Y": y, "X": x, "school": pd.Categorical(school)})


def lesson06_tutorial_sim() -> pd.DataFrame:
    """notebooks/06_model_comparison.ipynb, section "AIC and BIC": first draws of rng(606)."""
    rng = np.random.default_rng(606)
    n_schools, n_per = 30, 20
    school = np.repeat(np.arange(n_schools), n_per)
    x = rng.normal(size=n_schools * n_per)
    y = 5 + rng.normal(0, 2, size=n_schools)[school] + 0.8 * x + rng.normal(0, 1.5, size=n_schools * n_per)
    return pd.DataFrame({"Y": y, "X": x, "school": pd.Categorical(school)})


def _lesson07() -> tuple[pd.DataFrame, pd.DataFrame]:
    """notebooks/07_crossed_and_nested.ipynb: rng(2007) feeds the ratings first, then the three-level data."""
    rng = np.random.default_rng(2007)
    ratings = simulate_crossed((60, 8), fixed={"Intercept": 50.0}, G={"student": 4.0, "rater": 1.0},
                               sigma=np.sqrt(2.0), predictors={}, rng=rng)
    three = simulate_three_level(30, 4, 15, fixed={"Intercept": 50.0}, G={"school": 4.0, "class": 2.0},
                                 sigma=np.sqrt(14.0), predictors={}, rng=rng)
    return ratings, three


def lesson07_ratings() -> pd.DataFrame:
    """notebooks/07_crossed_and_nested.ipynb: 60 students x 8 raters (simulate_crossed)."""
    return _lesson07()[0]


def lesson07_three_level() -> pd.DataFrame:
    """notebooks/07_crossed_and_nested.ipynb: 30 schools x 4 classes x 15 students (simulate_three_level)."""
    return _lesson07()[1]


def _lesson10() -> dict[int, pd.DataFrame]:
    """notebooks/10_diagnostics_prediction_reporting.ipynb: skewed group effects, 5 then 100 per group, rng(10)."""
    rng = np.random.default_rng(10)

    def skewed_groups(n_per_group, n_groups=100):
        u = rng.exponential(1.0, n_groups) - 1.0                      # skewed, mean 0, variance 1
        g = np.repeat(np.arange(n_groups), n_per_group)
        y = 10 + u[g] + rng.normal(0, 2, n_groups * n_per_group)       # sigma = 2
        return pd.DataFrame({"y": y, "g": g})

    return {n: skewed_groups(n) for n in (5, 100)}


def lesson10_skewed_5() -> pd.DataFrame:
    """notebooks/10_diagnostics_prediction_reporting.ipynb: skewed group effects, 5 per group."""
    return _lesson10()[5]


def lesson10_skewed_100() -> pd.DataFrame:
    """notebooks/10_diagnostics_prediction_reporting.ipynb: skewed group effects, 100 per group."""
    return _lesson10()[100]


def lesson11_coffee() -> pd.DataFrame:
    """notebooks/11_longitudinal.ipynb, "Within-person and between-person effects": first draws of rng(13)."""
    rng = np.random.default_rng(13)
    n_people, n_days = 60, 8
    person = np.repeat(np.arange(n_people), n_days)
    habit = rng.gamma(shape=4, scale=0.6, size=n_people)  # usual cups per day
    cups = np.clip(np.round(habit[person] + rng.normal(0, 1.0, n_people * n_days)), 0, None)
    coffee = pd.DataFrame({"person": person, "day": np.tile(np.arange(1, n_days + 1), n_people), "cups": cups})
    coffee["cups_mean"] = coffee.groupby("person")["cups"].transform("mean")   # between part
    coffee["cups_within"] = coffee["cups"] - coffee["cups_mean"]               # within part
    u0 = rng.normal(0, 10, n_people)
    coffee["rt"] = (280 - 5 * coffee["cups_within"] + 6 * coffee["cups_mean"]
                    + u0[person] + rng.normal(0, 20, n_people * n_days))
    return coffee


def _simulate_trial(n_people, rng):
    """Weekly symptom scores (weeks 0-5) of n_people, every second one treated: the truth of this section."""
    weeks = np.arange(6)
    person = np.repeat(np.arange(n_people), len(weeks))
    week = np.tile(weeks, n_people)
    treated = person % 2
    u = rng.normal(0, [4, 1], size=(n_people, 2))  # u0j (SD 4 points) and u1j (SD 1 point per week)
    score = 30 - 1.5 * week * treated + u[person, 0] + u[person, 1] * week + rng.normal(0, 3, len(week))
    return pd.DataFrame({"person": person, "treated": treated, "week": week, "score": score})


def lesson11_trial() -> pd.DataFrame:
    """notebooks/11_longitudinal.ipynb, "A predictor for whole persons": simulate_trial(100) on rng(13)'s second spawned stream."""
    rng = np.random.default_rng(13)
    rng.spawn(1)  # the first spawned stream feeds the residual-autocorrelation simulation
    trial_rng = rng.spawn(1)[0]
    return _simulate_trial(100, trial_rng)


def assignment01_sim() -> pd.DataFrame:
    """solutions/01_why_multilevel.ipynb, question 1: simulate_two_level with rng(101)."""
    return mlmlab.simulate_two_level(30, 20, fixed={"Intercept": 50, "x": 0}, G=16.0, sigma=8.0,
                                     predictors={"x": "level2"}, rng=np.random.default_rng(101))


def assignment05_batches() -> pd.DataFrame:
    """solutions/05_estimation.ipynb, first cell: 8 batches of 4, rng(505)."""
    rng = np.random.default_rng(505)
    J, n = 8, 4
    batch = np.repeat(np.arange(J), n)
    y = 50 + rng.normal(0, 2, size=J)[batch] + rng.normal(0, 3, size=J * n)
    return pd.DataFrame({"y": y, "batch": pd.Categorical(batch)})


def assignment11_diary() -> pd.DataFrame:
    """solutions/11_longitudinal.ipynb: the diary study of the first cell, rng(2011), with question 4's split."""
    rng = np.random.default_rng(2011)
    n_people, n_nights = 50, 6
    person = np.repeat(np.arange(n_people), n_nights)
    usual = rng.normal(7, 1.2, n_people)
    hours = (usual[person] + rng.normal(0, 1, n_people * n_nights)).round(1)
    diary = pd.DataFrame({"person": person, "night": np.tile(np.arange(1, n_nights + 1), n_people), "hours": hours})
    _mean = (np.bincount(person, weights=hours) / n_nights)[person]
    diary["mood"] = (50 + 4 * (hours - _mean) - 3 * (_mean - 7) + rng.normal(0, 4, n_people)[person]
                     + rng.normal(0, 8, n_people * n_nights)).round(1)
    diary["hours_mean"] = diary.groupby("person")["hours"].transform("mean")
    diary["hours_within"] = diary["hours"] - diary["hours_mean"]
    return diary


def assignment11_reading() -> pd.DataFrame:
    """solutions/11_longitudinal.ipynb, question 6: the reading study, 60 children x 5 waves, rng(1111)."""
    rng = np.random.default_rng(1111)
    n_children, waves = 60, np.arange(5)
    child = np.repeat(np.arange(n_children), len(waves))
    tutored = (np.arange(n_children) % 2)[child]
    u = rng.multivariate_normal([0, 0], [[64, 2.4], [2.4, 2.25]], n_children)[child]
    wave = np.tile(waves, n_children)
    reading = pd.DataFrame({"child": child, "wave": wave, "tutored": tutored})
    reading["score"] = (100 + 2 * tutored + (5 + 2 * tutored) * wave + u[:, 0] + u[:, 1] * wave
                        + rng.normal(0, 5, len(child))).round(1)
    return reading


# name -> (function, grouping columns, notebooks that fit it)
DATASETS = {
    "lesson03_tutorial": (lesson03_tutorial, ["school"], ["notebooks/03_icc.ipynb"]),
    "lesson04_slope_sim": (lesson04_slope_sim, ["school"], ["notebooks/04_random_slopes.ipynb"]),
    "lesson06_tutorial_sim": (lesson06_tutorial_sim, ["school"], ["notebooks/06_model_comparison.ipynb"]),
    "lesson07_ratings": (lesson07_ratings, ["student", "rater"], ["notebooks/07_crossed_and_nested.ipynb"]),
    "lesson07_three_level": (lesson07_three_level, ["school", "class"], ["notebooks/07_crossed_and_nested.ipynb"]),
    "lesson10_skewed_5": (lesson10_skewed_5, ["g"], ["notebooks/10_diagnostics_prediction_reporting.ipynb"]),
    "lesson10_skewed_100": (lesson10_skewed_100, ["g"], ["notebooks/10_diagnostics_prediction_reporting.ipynb"]),
    "lesson11_coffee": (lesson11_coffee, ["person"], ["notebooks/11_longitudinal.ipynb"]),
    "lesson11_trial": (lesson11_trial, ["person"], ["notebooks/11_longitudinal.ipynb"]),
    "assignment01_sim": (assignment01_sim, ["group"], ["solutions/01_why_multilevel.ipynb"]),
    "assignment05_batches": (assignment05_batches, ["batch"], ["solutions/05_estimation.ipynb"]),
    "assignment11_diary": (assignment11_diary, ["person"], ["solutions/11_longitudinal.ipynb"]),
    "assignment11_reading": (assignment11_reading, ["child"], ["solutions/11_longitudinal.ipynb"]),
}


def make(name: str) -> pd.DataFrame:
    """The data set `name` exactly as its notebook builds it."""
    return DATASETS[name][0]()


def _levels(column: pd.Series) -> list[str]:
    values = column.cat.categories if isinstance(column.dtype, pd.CategoricalDtype) else pd.unique(column)
    return [str(v) for v in values]


def describe(name: str, data: pd.DataFrame) -> dict:
    """The entry of lesson_data.json for one data set."""
    func, groups, used_in = DATASETS[name]
    return {
        "file": f"{name}.csv",
        "description": func.__doc__,
        "used_in": used_in,
        "nrow": len(data),
        "columns": list(data.columns),
        "factors": {g: _levels(data[g]) for g in groups},
    }


def csv_text(data: pd.DataFrame) -> str:
    """The CSV file's text (pandas writes floats in their shortest round-trip form)."""
    return data.to_csv(index=False, lineterminator="\n")


def meta_text(meta: dict) -> str:
    """The text of lesson_data.json."""
    return json.dumps(meta, indent=1) + "\n"


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    meta = {}
    for name in DATASETS:
        data = make(name)
        (OUT_DIR / f"{name}.csv").write_text(csv_text(data), encoding="utf-8")
        meta[name] = describe(name, data)
        print(f"{name:24s} {len(data):5d} rows -> {OUT_DIR.relative_to(ROOT) / (name + '.csv')}")
    (OUT_DIR / "lesson_data.json").write_text(meta_text(meta), encoding="utf-8")


if __name__ == "__main__":
    main()
