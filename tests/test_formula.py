"""The lme4 formula reader (mlmlab.formula)."""

import pytest

from mlmlab.formula import ParsedFormula, RandomTerm, parse_formula


def blocks(formula):
    return [(t.group, t.factors, t.names, t.correlated) for t in parse_formula(formula).random]


def test_random_intercept_and_fixed_part():
    p = parse_formula("MathAch ~ cses + (1 | School)")
    assert isinstance(p, ParsedFormula)
    assert (p.outcome, p.fixed, p.fixed_formula) == ("MathAch", "cses", "MathAch ~ cses")
    assert blocks("MathAch ~ cses + (1 | School)") == [("School", ("School",), ("(Intercept)",), True)]


@pytest.mark.parametrize("formula", ["y ~ x + (x | g)", "y ~ x + (1 + x | g)", "y~x+(x|g)"])
def test_slope_implies_intercept(formula):
    assert blocks(formula) == [("g", ("g",), ("(Intercept)", "x"), True)]


@pytest.mark.parametrize("formula", ["y ~ x + (0 + x | g)", "y ~ x + (-1 + x | g)", "y ~ x + (x - 1 | g)"])
def test_no_intercept(formula):
    assert blocks(formula) == [("g", ("g",), ("x",), True)]


def test_double_bar_splits_into_independent_blocks():
    assert blocks("y ~ x + (x + z || g)") == [
        ("g", ("g",), ("(Intercept)",), False), ("g.1", ("g",), ("x",), False), ("g.2", ("g",), ("z",), False)]
    assert blocks("y ~ x + (0 + x || g)") == [("g", ("g",), ("x",), False)]


def test_nested_and_interaction_grouping():
    # lme4 names the inner factor of a/b "b:a".
    assert blocks("strength ~ 1 + (1 | batch/cask)") == [
        ("batch", ("batch",), ("(Intercept)",), True), ("cask:batch", ("cask", "batch"), ("(Intercept)",), True)]
    assert blocks("y ~ (1 | a:b)") == [("a:b", ("a", "b"), ("(Intercept)",), True)]
    assert [t.group for t in parse_formula("y ~ (1 | a/b/c)").random] == ["a", "b:a", "c:b:a"]


def test_crossed_factors_and_no_fixed_part():
    p = parse_formula("diameter ~ (1 | plate) + (1 | sample)")
    assert p.fixed == "1"
    assert p.groups == ("plate", "sample")


def test_fixed_part_keeps_formula_language():
    p = parse_formula("y ~ x*z + C(s, Treatment('b')) + I(x**2) + (x | g)")
    assert p.fixed == "x*z + C(s, Treatment('b')) + I(x**2)"
    assert p.variables() == ["y", "x", "z", "s", "g"]
    assert parse_formula("y ~ 0 + x + (1 | g)").fixed == "0 + x"
    assert parse_formula("y ~ (1 | g) + x").fixed == "x"


def test_block_helpers():
    t = RandomTerm("g", ("g",), True, ("x",))
    assert t.design == "1 + x" and t.names == ("(Intercept)", "x")
    assert RandomTerm("g", ("g",), False, ("x",)).design == "0 + x"


SUPPORTED = r"Supported: y ~ fixed part \+ \(1 \| g\)"


@pytest.mark.parametrize("formula, message", [
    ("y ~ x + (1 | g", r"unbalanced parenthesis at position 8: this '\(' is never closed \(here: y ~ x \+ >>\(<<1 \| g\)"),
    ("y ~ x + 1 | g)", r"unbalanced parenthesis at position 13: this '\)' has no matching '\('"),
    ("y ~ x + (1 | )", r"'\|' at position 11 has nothing on its right; put the grouping column there"),
    ("y ~ (| g)", r"'\|' at position 5 has nothing on its left; write \(1 \| g\) for a random intercept"),
    ("y ~ x + (x || )", r"'\|\|' at position 11 has nothing on its right"),
    ("y x (1 | g)", r"it has no '~' separating the outcome from the predictors"),
    ("y ~ x ~ z + (1 | g)", r"it has more than one '~' \(the second at position 6\)"),
    ("~ x + (1 | g)", r"there is nothing on the left of '~'; put the outcome column there"),
    ("y ~ x + 1 | g", r"'\|' at position 10 is outside parentheses"),
    ("y ~ x + ((1 | g) | h)", r"nested bars: the '\|' at position 12 is inside another random-effect term"),
    ("y ~ x + (x | g1 + g2)", r"the grouping part 'g1 \+ g2' is not supported: it must be one column g, a nesting a/b or an "
                              r"interaction a:b; use one term per grouping factor, as in \(x \| g1\) \+ \(x \| g2\)"),
    ("y ~ x + (1 | g | h)", r"has more than one bar"),
    ("y ~ x*(1 | g)", r"the random-effect term at position 6 must be added with '\+'.*found '\*' before it"),
    ("y ~ x + (1 | g) z", r"must be followed by '\+' or the end of the formula; found 'z' after it"),
    ("y ~ x + (1 | g) + offset(z)", r"offset\(\) terms are not supported"),
    ("y ~ x + (1 - x | g)", r"removing 'x' with '-' inside a random-effect term is not supported"),
    ("y ~ x + (0 | g)", r"has no columns left"),
    ("y ~ x + (1 | 2g)", r"contains '2g', which is not a column name"),
    ("y ~ x + (1 | g) +", r"it ends with the operator '\+'; remove it or add the missing term"),
    ("y ~ ", r"there is nothing on the right of '~'"),
])
def test_unreadable_formulas_point_at_the_problem(formula, message):
    with pytest.raises(ValueError, match=message) as info:
        parse_formula(formula)
    assert str(info.value).startswith("The 'formula' argument of fit must be an lme4-style formula. Got ")


def test_errors_list_what_is_supported():
    with pytest.raises(ValueError, match=SUPPORTED):
        parse_formula("y ~ x + (1 | g")


def test_no_random_term_points_to_ols():
    with pytest.raises(ValueError, match=r"it has no random-effect term such as \(1 \| g\). Add one, e.g. "
                                         r"'y ~ x \+ \(1 \| g\)'; for a model without random effects use "
                                         r"statsmodels.formula.api.ols."):
        parse_formula("y ~ x")


def test_transformed_outcome_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"the outcome 'log\(y\)' is not a single column name. Create the "
                                         r"transformed outcome as a column first"):
        parse_formula("log(y) ~ x + (1 | g)")


def test_formula_must_be_a_string():
    with pytest.raises(TypeError, match=r"The 'formula' argument of fit must be a string such as "
                                        r"'y ~ x \+ \(1 \| g\)'. Got 3."):
        parse_formula(3)


def test_function_name_in_messages():
    with pytest.raises(ValueError, match=r"The 'formula' argument of icc must"):
        parse_formula("y ~ (1 | g", func="icc")
