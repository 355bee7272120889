"""Bad input: every public function of fit/icc/compare/predict fails first, with one clear message."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from mlmlab import datasets, design_effect, effective_n, fit, icc
from mlmlab.exceptions import MlmlabInputError


@pytest.fixture(scope="module")
def small():
    return datasets.load("hsb").head(400).copy()


@pytest.fixture(scope="module")
def model(small):
    return fit("MathAch ~ cses + (1 | School)", small)


COLUMNS = "School, Minority, Sex, SES, MathAch, MEANSES, Size, Sector, PRACAD, DISCLIM, HIMINTY, cses"


# ----------------------------------------------------------------------------- fit

def test_data_not_a_dataframe():
    with pytest.raises(TypeError, match=r"^The 'data' argument of fit must be a pandas DataFrame. Got \[1, 2\]. "
                                        r"Load one with mlmlab.datasets.load\(name\) or pd.read_csv\(path\).$"):
        fit("MathAch ~ cses + (1 | School)", [1, 2])


def test_empty_data(small):
    with pytest.raises(ValueError, match=r"^The 'data' argument of fit must be a DataFrame with at least one row. "
                                         r"Got a DataFrame with 0 rows and 12 columns.$"):
        fit("MathAch ~ cses + (1 | School)", small.iloc[:0])


@pytest.mark.parametrize("formula, name", [("MathAch ~ SES2 + (1 | School)", "SES2"),
                                           ("MathAch ~ cses + (1 | Schol)", "Schol"),
                                           ("Math ~ cses + (1 | School)", "Math"),
                                           ("MathAch ~ cses + (x | School)", "x")])
def test_missing_column_lists_the_columns(small, formula, name):
    msg = (f"The 'formula' argument of fit must be made of columns of data. Got '{formula}'; there is no column "
           f"'{name}'; columns are: {COLUMNS}. Check the spelling (names are case-sensitive).")
    with pytest.raises(ValueError, match="^" + re.escape(msg) + "$") as info:
        fit(formula, small)
    assert isinstance(info.value, KeyError)   # also a KeyError, like pandas' missing column
    assert isinstance(info.value, MlmlabInputError)   # and bad input, like every other input error
    assert str(info.value) == msg


def test_missing_values_are_dropped_with_a_count(small):
    data = small.copy()
    data.loc[data.index[:3], "MathAch"] = np.nan
    data.loc[data.index[5], "cses"] = np.nan
    data.loc[data.index[6], "Sex"] = np.nan          # not in the model: does not count
    with pytest.warns(UserWarning, match=r"^fit dropped 4 of 400 rows with missing values \(missing per column: "
                                         r"MathAch \(3\), cses \(1\)\), as lme4 does by default \(na.omit\); the model "
                                         r"uses the other 396 rows.$"):
        m = fit("MathAch ~ cses + (1 | School)", data)
    assert m.nobs == 396 and len(m.data) == 396
    assert m.messages[0].startswith("fit dropped 4 of 400 rows")
    complete = fit("MathAch ~ cses + (1 | School)", data.dropna(subset=["MathAch", "cses"]))
    assert np.isclose(m.llf, complete.llf)


def test_all_rows_missing(small):
    with pytest.raises(ValueError, match=r"The 'data' argument of fit must be a DataFrame with complete rows for the "
                                         r"model's columns. Got a DataFrame with 400 rows and 13 columns; every row has "
                                         r"a missing value \(missing per column: z \(400\)\)."):
        fit("MathAch ~ z + (1 | School)", small.assign(z=np.nan))


def test_single_group(small):
    with pytest.raises(ValueError, match=r"^The 'formula' argument of fit must be a model whose grouping factors have "
                                         r"at least two groups. Got 'MathAch ~ cses \+ \(1 \| one\)'; 'one' has a single "
                                         r"group \('a'\), so there is no between-group variance to estimate. Use a column "
                                         r"that identifies the groups, or fit an ordinary regression"):
        fit("MathAch ~ cses + (1 | one)", small.assign(one="a"))


def test_every_group_of_size_one(small):
    with pytest.raises(ValueError, match=r"^The 'formula' argument of fit must be a model whose groups hold more than "
                                         r"one row. Got 'MathAch ~ cses \+ \(1 \| id\)'; every group of 'id' has exactly "
                                         r"one row, so the group variance cannot be told apart from the residual "
                                         r"variance. Check that the grouping column is right"):
        fit("MathAch ~ cses + (1 | id)", small.assign(id=np.arange(400)))


@pytest.mark.parametrize("column, kind", [("Sex", "holds text \\(dtype category\\)"),
                                          ("word", "holds text \\(dtype (object|str)\\)"),
                                          ("flag", "holds True/False values")])
def test_non_numeric_outcome(small, column, kind):
    data = small.assign(word="x", flag=True)
    with pytest.raises(ValueError, match=rf"^The 'formula' argument of fit must be a numeric outcome. Got '{column}'; "
                                         rf"column '{column}' {kind}. Convert it first"):
        fit(f"{column} ~ cses + (1 | School)", data)


def test_unparseable_formula_points_at_the_token(small):
    with pytest.raises(ValueError, match=r"^The 'formula' argument of fit must be an lme4-style formula. Got "
                                         r"'MathAch ~ cses \+ \(1 \| School'; unbalanced parenthesis at position 17: "
                                         r"this '\(' is never closed \(here: ch ~ cses \+ >>\(<<1 \| School\). "
                                         r"Supported: y ~ fixed part"):
        fit("MathAch ~ cses + (1 | School", small)
    with pytest.raises(ValueError, match=r"'\|' at position 19 has nothing on its left"):
        fit("MathAch ~ cses + ( | School)", small)


def test_fixed_part_that_cannot_be_evaluated(small):
    with pytest.raises(ValueError, match=r"^The 'formula' argument of fit must be a model mlmlab can fit. Got "
                                         r"'MathAch ~ foo\(cses\) \+ \(1 \| School\)'; its fixed part 'foo\(cses\)' cannot "
                                         r"be evaluated \(Error evaluating factor: NameError: name 'foo' is not "
                                         r"defined\). Supported:"):
        fit("MathAch ~ foo(cses) + (1 | School)", small)


def test_collinear_fixed_effects(small):
    with pytest.raises(ValueError, match=r"^The 'formula' argument of fit must be a model whose fixed-effect columns are "
                                         r"not collinear. Got 'MathAch ~ cses \+ I\(2 \* cses\) \+ \(1 \| School\)'; "
                                         r"'I\(2 \* cses\)' is a linear combination of the columns before it \(lme4 "
                                         r"would drop it with a message\). Remove it from the fixed part"):
        fit("MathAch ~ cses + I(2 * cses) + (1 | School)", small)


def test_formula_not_a_string(small):
    with pytest.raises(TypeError, match=r"^The 'formula' argument of fit must be a string"):
        fit(None, small)


def test_reml_must_be_boolean(small):
    with pytest.raises(TypeError, match=r"^The 'reml' argument of fit must be True or False. Got 'yes'.$"):
        fit("MathAch ~ cses + (1 | School)", small, reml="yes")


def test_uncorrelated_factor_slope_is_refused(small):
    with pytest.raises(ValueError, match=r"the uncorrelated term '0 \+ Sex' for 'School.1' expands to 2 columns "
                                         r"\(a categorical variable\), so this factor would get two blocks of "
                                         r"correlated random effects; \|\| splits terms, not the columns of a factor"):
        fit("MathAch ~ cses + (cses | School) + (0 + Sex || School)", small)


# ----------------------------------------------------------------------------- icc

def test_icc_input_checks(small, model):
    with pytest.raises(TypeError, match=r"^The 'result_or_data' argument of icc must be a MixedResult from mlmlab.fit "
                                        r"or a DataFrame. Got 'x'.$"):
        icc("x")
    with pytest.raises(ValueError, match=r"^The 'group' argument of icc must be a column name when data are given. "
                                         r"Got None. Call icc\(data, y='outcome', group='cluster'\).$"):
        icc(small, y="MathAch")
    with pytest.raises(ValueError, match=r"^The 'y' argument of icc must be a column name when data are given"):
        icc(small, group="School")
    with pytest.raises(ValueError, match=rf"^The 'group' argument of icc must be a column of data. Got 'Schol'; "
                                         rf"columns are: {COLUMNS}.$"):
        icc(small, y="MathAch", group="Schol")
    with pytest.raises(ValueError, match=r"^The 'y' argument of icc must be a numeric outcome. Got 'Sex'"):
        icc(small, y="Sex", group="School")
    with pytest.raises(ValueError, match=r"^The 'ci' argument of icc must be a confidence level between 0 and 1, "
                                         r"such as 0.95. Got 95.$"):
        icc(model, ci=95)
    with pytest.raises(ValueError, match=r"^The 'method' argument of icc must be one of 'profile', 'bootstrap'. "
                                         r"Got 'boot'.$"):
        icc(model, method="boot")
    with pytest.raises(ValueError, match=r"^The 'n_boot' argument of icc must be a whole number of at least 20. Got 5.$"):
        icc(model, method="bootstrap", n_boot=5)
    with pytest.raises(TypeError, match=r"an int seed or a numpy.random.Generator. Got 'a'"):
        icc(model, method="bootstrap", rng="a")


def test_icc_single_group_is_caught_by_fit(small):
    with pytest.raises(ValueError, match=r"'one' has a single group"):
        icc(small.assign(one="a"), y="MathAch", group="one")


# ----------------------------------------------------------------------------- predict

def test_predict_input_checks(model):
    with pytest.raises(TypeError, match=r"^The 'newdata' argument of predict must be a pandas DataFrame. Got \[1\]."):
        model.predict([1])
    with pytest.raises(ValueError, match=r"^The 'newdata' argument of predict must be a DataFrame with the model's "
                                         r"predictors. Got a DataFrame with 1 rows and 1 columns; column 'cses' is "
                                         r"missing; the model uses: cses, School.$"):
        model.predict(pd.DataFrame({"School": ["1224"]}))
    with pytest.raises(ValueError, match=r"^The 'newdata' argument of predict must be a DataFrame without missing values "
                                         r"in the model's predictors. Got a DataFrame with 1 rows and 2 columns; found "
                                         r"missing values in cses.$"):
        model.predict(pd.DataFrame({"School": ["1224"], "cses": [np.nan]}))
    # The grouping column is not needed for the fixed part alone.
    assert len(model.predict(pd.DataFrame({"cses": [0.0]}), include_re=False)) == 1


# ----------------------------------------------------------------------------- design effect

def test_design_effect_and_effective_n_checks():
    with pytest.raises(ValueError, match=r"^The 'icc' argument of design_effect must be between 0 and 1. Got 1.5.$"):
        design_effect(1.5, 10)
    with pytest.raises(ValueError, match=r"^The 'group_size' argument of design_effect must be at least 1 \(units per "
                                         r"group\). Got 0.$"):
        design_effect(0.1, 0)
    with pytest.raises(TypeError, match=r"^The 'icc' argument of design_effect must be a number or an array of "
                                        r"numbers. Got 'a'.$"):
        design_effect("a", 3)
    with pytest.raises(ValueError, match=r"^The 'icc' argument of design_effect must be finite numbers"):
        design_effect(np.nan, 3)
    with pytest.raises(ValueError, match=r"^The 'n' argument of effective_n must be a positive number of units. Got 0.$"):
        effective_n(0, 0.1, 3)
