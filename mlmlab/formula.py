"""Read lme4-style mixed-model formulas.

A formula such as ``MathAch ~ cses + Sector + (cses | School)`` has three parts:

* the **outcome** (left of ``~``), a column name;
* the **fixed part**, written in the usual (patsy) formula language;
* the **random part**: terms in parentheses with a bar, ``(terms | group)``.

Supported random terms (the lme4 syntax)::

    (1 | g)           random intercept
    (x | g)           correlated random intercept and slope, same as (1 + x | g)
    (0 + x | g)       random slope only (also written (-1 + x | g))
    (x || g)          uncorrelated intercept and slope: (1 | g) + (0 + x | g)
    (1 | a) + (1 | b) crossed factors
    (1 | a/b)         b nested in a: (1 | a) + (1 | b:a)
    (1 | a:b)         one group per combination of a and b

:func:`parse_formula` returns a :class:`ParsedFormula`; :func:`mlmlab.fit` uses it.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, replace

import numpy as np
import patsy
from patsy.state import Standardize

from mlmlab._checks import argument_error

__all__ = ["RandomTerm", "ParsedFormula", "parse_formula", "for_patsy", "user_name", "EVAL_ENV", "SUPPORTED"]

SUPPORTED = (
    "Supported: y ~ fixed part + (1 | g), (x | g), (0 + x | g), (x || g), crossed (1 | a) + (1 | b), "
    "nested (1 | a/b) or (1 | a:b)."
)

# Names that may appear in a formula without being columns of the data (patsy built-ins).
_KNOWN_NAMES = {
    "C", "I", "Q", "np", "numpy", "Treatment", "Sum", "Poly", "Helmert", "Diff", "center", "standardize",
    "scale", "bs", "cr", "cc", "te", "True", "False", "None", "log", "exp", "sqrt", "abs",
}

# Known names that are never a column when they stand alone (contrasts passed to C(), constants).
_NEVER_COLUMNS = {"Treatment", "Sum", "Poly", "Helmert", "Diff", "True", "False", "None"}


class _RScale(Standardize):
    """R's ``scale(x)``: centre on the mean, divide by the standard deviation with n − 1 (``ddof=1``).

    patsy's own ``scale`` is its ``standardize``, which divides by the population SD (n); lme4 users
    expect R's. A stateful transform, so ``predict`` reuses the mean and SD of the fitted data.
    """

    def memorize_chunk(self, x, center=True, rescale=True, ddof=1):
        super().memorize_chunk(x, center, rescale, ddof)

    def transform(self, x, center=True, rescale=True, ddof=1):
        return super().transform(x, center, rescale, ddof)


#: Names a formula may use besides columns (patsy also knows C, I, Q, center, standardize, ...).
EVAL_ENV = {"np": np, "log": np.log, "exp": np.exp, "sqrt": np.sqrt, "abs": np.abs,
            "scale": patsy.stateful_transform(_RScale)}


@dataclass(frozen=True)
class RandomTerm:
    """One block of random effects for one grouping factor, with its own covariance matrix.

    Attributes
    ----------
    group : str
        The grouping factor's name as lme4 prints it, e.g. ``"School"`` or ``"cask:batch"``.
    factors : tuple of str
        The data columns whose combinations define the groups, e.g. ``("cask", "batch")``.
    intercept : bool
        Whether the block has a random intercept.
    terms : tuple of str
        The other (slope) terms, as written, e.g. ``("cses",)``.
    correlated : bool
        False for the pieces a ``||`` term is split into (they get separate variances and no
        correlation); True otherwise.
    """

    group: str
    factors: tuple
    intercept: bool
    terms: tuple
    correlated: bool = True

    @property
    def names(self) -> tuple:
        """Term names as lme4 prints them: ``"(Intercept)"`` then the slopes."""
        return (("(Intercept)",) if self.intercept else ()) + tuple(self.terms)

    @property
    def design(self) -> str:
        """The one-sided patsy formula of this block's columns, e.g. ``"1 + cses"`` or ``"0 + x"``."""
        return " + ".join((("1",) if self.intercept else ("0",)) + tuple(self.terms))


@dataclass(frozen=True)
class ParsedFormula:
    """A formula split into outcome, fixed part and random-effect blocks.

    Attributes
    ----------
    formula : str
        The formula as given.
    outcome : str
        The outcome column.
    fixed : str
        Right-hand side of the fixed part in patsy syntax (``"1"`` when there is none).
    random : tuple of RandomTerm
        The random-effect blocks, after expanding ``||`` and ``/``.
    """

    formula: str
    outcome: str
    fixed: str
    random: tuple

    @property
    def fixed_formula(self) -> str:
        """The fixed part as a full patsy formula, e.g. ``"MathAch ~ cses"`` (outcome quoted if need be)."""
        return f"{_quoted(self.outcome)} ~ {self.fixed}"

    @property
    def groups(self) -> tuple:
        """Distinct grouping factors in order of appearance, e.g. ``("batch", "cask:batch")``."""
        out = []
        for term in self.random:
            if term.group not in out:
                out.append(term.group)
        return tuple(out)

    def variables(self) -> list:
        """Every name the formula refers to that should be a data column (in order, no repeats)."""
        names = [self.outcome]
        for text in [self.fixed] + [t for r in self.random for t in r.terms]:
            names += _names_in(text)
        for r in self.random:
            names += list(r.factors)
        out = []
        for n in names:
            if n not in out:
                out.append(n)
        return out


def parse_formula(formula, *, func: str = "fit") -> ParsedFormula:
    """Split an lme4-style formula into outcome, fixed part and random-effect blocks.

    Parameters
    ----------
    formula : str
        For example ``"MathAch ~ cses + (cses | School)"``.
    func : str, default="fit"
        Name of the public function, used in error messages.

    Returns
    -------
    ParsedFormula

    Raises
    ------
    ValueError
        When the formula cannot be read; the message points at the offending part and lists
        what is supported.
    TypeError
        When ``formula`` is not a string.

    Examples
    --------
    >>> p = parse_formula("Reaction ~ Days + (Days || Subject)")
    >>> p.outcome, p.fixed
    ('Reaction', 'Days')
    >>> [(t.group, t.names) for t in p.random]
    [('Subject', ('(Intercept)',)), ('Subject.1', ('Days',))]
    >>> [t.group for t in parse_formula("strength ~ 1 + (1 | batch/cask)").random]
    ['batch', 'cask:batch']

    Taught in lesson 02.
    """
    if not isinstance(formula, str):
        raise argument_error(func, "formula", "a string such as 'y ~ x + (1 | g)'", formula, kind=TypeError)
    text = formula
    _check_parens(text, func)
    tilde = [i for i, ch in _depth0(text) if ch == "~"]
    if not tilde:
        _fail(func, formula, "it has no '~' separating the outcome from the predictors")
    if len(tilde) > 1:
        _fail(func, formula, f"it has more than one '~' (the second at position {tilde[1]})")
    lhs, rhs = text[: tilde[0]].strip(), text[tilde[0] + 1:]
    if not lhs:
        _fail(func, formula, "there is nothing on the left of '~'; put the outcome column there")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", lhs):
        _fail(func, formula, f"the outcome {lhs!r} is not a single column name",
              fix="Create the transformed outcome as a column first, e.g. data['log_y'] = np.log(data['y']).")
    offset = tilde[0] + 1
    if not rhs.strip():
        _fail(func, formula, "there is nothing on the right of '~'")
    if re.search(r"[+\-*/:]\s*$", rhs):
        _fail(func, formula, f"it ends with the operator {rhs.rstrip()[-1]!r}; remove it or add the missing term")
    fixed_pieces, random = _split_rhs(rhs, offset, formula, func)
    if not random:
        _fail(func, formula, "it has no random-effect term such as (1 | g)",
              fix="Add one, e.g. 'y ~ x + (1 | g)'; for a model without random effects use "
                  "statsmodels.formula.api.ols.")
    fixed = re.sub(r"\s+", " ", " ".join(fixed_pieces)).strip()
    if re.search(r"\boffset\s*\(", fixed):
        _fail(func, formula, "offset() terms are not supported")
    if not fixed:
        fixed = "1"
    if re.search(r"[+\-*/:]\s*$", fixed):
        _fail(func, formula, f"the fixed part ends with an operator: {fixed!r}")
    return ParsedFormula(formula=formula, outcome=lhs, fixed=fixed, random=tuple(random))


# --------------------------------------------------------------------------- helpers

def _fail(func: str, formula: str, detail: str, fix: str = ""):
    raise argument_error(func, "formula", "an lme4-style formula", formula, detail=detail, fix=fix or SUPPORTED)


def _scan(text: str):
    """Yield (position, character, depth) for characters outside quotes."""
    depth, quote = 0, None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
            continue
        if ch == "(":
            yield i, ch, depth
            depth += 1
        elif ch == ")":
            depth -= 1
            yield i, ch, depth
        else:
            yield i, ch, depth


def _depth0(text: str):
    return [(i, ch) for i, ch, d in _scan(text) if d == 0 and ch not in "()"]


def _check_parens(text: str, func: str) -> None:
    stack = []
    for i, ch, _ in _scan(text):
        if ch == "(":
            stack.append(i)
        elif ch == ")":
            if not stack:
                _fail(func, text, f"unbalanced parenthesis at position {i}: this ')' has no matching '('"
                      f" ({_pointer(text, i)})")
            stack.pop()
    if stack:
        i = stack[-1]
        _fail(func, text, f"unbalanced parenthesis at position {i}: this '(' is never closed ({_pointer(text, i)})")


def _pointer(text: str, i: int) -> str:
    return f"here: {text[max(0, i - 12): i]}>>{text[i]}<<{text[i + 1: i + 13]}"


def _split_rhs(rhs: str, offset: int, formula: str, func: str):
    """Cut the bar terms out of the right-hand side; return (fixed pieces, random blocks)."""
    # Top-level parenthesised groups.
    groups, start = [], None
    for i, ch, d in _scan(rhs):
        if ch == "(" and d == 0:
            start = i
        elif ch == ")" and d == 0:
            groups.append((start, i))
    for i, ch in _depth0(rhs):
        if ch == "|":
            _fail(func, formula, f"'|' at position {offset + i} is outside parentheses; "
                  "write random-effect terms in parentheses, as in (1 | g)")
    fixed, random, last = [], [], 0
    for a, b in groups:
        inner = rhs[a + 1: b]
        if "|" not in "".join(ch for _, ch, _d in _scan(inner)):
            continue
        prefix, after = rhs[:a].rstrip(), rhs[b + 1:].lstrip()
        if prefix and not prefix.endswith("+"):
            _fail(func, formula, f"the random-effect term at position {offset + a} must be added with '+', "
                  f"as in 'y ~ x + (1 | g)'; found {prefix[-1]!r} before it")
        if after and not after.startswith("+"):
            _fail(func, formula, f"the random-effect term at position {offset + a} must be followed by '+' or "
                  f"the end of the formula; found {after[0]!r} after it")
        fixed.append(rhs[last:a])
        random.extend(_parse_bar(inner, offset + a + 1, formula, func))
        last = b + 1
    fixed.append(rhs[last:])
    fixed = [re.sub(r"^\s*\+|\+\s*$", "", p.strip()).strip() for p in fixed]
    joined = " + ".join(p for p in fixed if p)
    return [joined] if joined else [], _name_repeats(random)


def _name_repeats(blocks):
    """lme4 names a factor's second and later blocks 'g.1', 'g.2', ... (as in VarCorr)."""
    seen, out = {}, []
    for b in blocks:
        k = seen.get(b.group, 0)
        seen[b.group] = k + 1
        if k:
            b = RandomTerm(f"{b.group}.{k}", b.factors, b.intercept, b.terms, b.correlated)
        out.append(b)
    return out


def _parse_bar(inner: str, offset: int, formula: str, func: str):
    bars = []
    chars = list(_scan(inner))
    k = 0
    while k < len(chars):
        i, ch, d = chars[k]
        if ch == "|":
            if d > 0:
                _fail(func, formula, f"nested bars: the '|' at position {offset + i} is inside another "
                      "random-effect term")
            double = k + 1 < len(chars) and chars[k + 1][1] == "|" and chars[k + 1][0] == i + 1
            bars.append((i, double))
            k += 2 if double else 1
            continue
        k += 1
    if len(bars) > 1:
        _fail(func, formula, f"the term '({inner})' has more than one bar; use one '|' per term, "
              "as in (x | g1) + (x | g2)")
    pos, double = bars[0]
    left, right = inner[:pos].strip(), inner[pos + (2 if double else 1):].strip()
    bar = "||" if double else "|"
    if not left:
        _fail(func, formula, f"'{bar}' at position {offset + pos} has nothing on its left; "
              "write (1 | g) for a random intercept")
    if not right:
        _fail(func, formula, f"'{bar}' at position {offset + pos} has nothing on its right; "
              "put the grouping column there, as in (1 | g)")
    intercept, terms = _parse_re_terms(left, offset, formula, func)
    groupings = _parse_grouping(right, offset + pos, formula, func)
    blocks = []
    for name, factors in groupings:
        if double:
            if intercept:
                blocks.append(RandomTerm(name, factors, True, (), False))
            blocks.extend(RandomTerm(name, factors, False, (t,), False) for t in terms)
        else:
            blocks.append(RandomTerm(name, factors, intercept, tuple(terms), True))
    return blocks


def _split_plus(text: str):
    out, cur, sign, depth, quote = [], "", "+", 0, None
    for ch in text:
        if quote:
            cur += ch
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and ch in "+-":
            out.append((sign, cur.strip()))
            cur, sign = "", ch
            continue
        cur += ch
    out.append((sign, cur.strip()))
    return out


def _parse_re_terms(left: str, offset: int, formula: str, func: str):
    intercept, terms = True, []
    pieces = _split_plus(left)
    for k, (sign, piece) in enumerate(pieces):
        if not piece:
            if k == 0 and sign == "+":
                continue  # leading '-' as in (-1 + x | g)
            _fail(func, formula, f"the random-effect term '{left}' has an empty part; write e.g. (1 + x | g)")
        if piece == "1":
            if sign == "-":
                intercept = False
            continue
        if piece == "0":
            intercept = False
            continue
        if sign == "-":
            _fail(func, formula, f"removing '{piece}' with '-' inside a random-effect term is not supported")
        if piece not in terms:
            terms.append(piece)
    if not intercept and not terms:
        _fail(func, formula, f"the random-effect term '({left} | ...)' has no columns left")
    return intercept, terms


def _parse_grouping(right: str, offset: int, formula: str, func: str):
    if re.search(r"[+*\-()]", right):
        _fail(func, formula, f"the grouping part '{right}' is not supported: it must be one column g, "
              "a nesting a/b or an interaction a:b; use one term per grouping factor, as in "
              "(x | g1) + (x | g2)")
    pieces = [p.strip() for p in right.split("/")]
    for p in pieces:
        for name in p.split(":"):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name.strip()):
                _fail(func, formula, f"the grouping part '{right}' contains {name.strip()!r}, which is not a "
                      "column name")
    pieces = [":".join(n.strip() for n in p.split(":")) for p in pieces]
    out = []
    for k in range(len(pieces)):
        # lme4 names the nested factor of a/b 'b:a' (innermost first).
        name = ":".join(reversed(pieces[: k + 1]))
        factors = tuple(n for p in reversed(pieces[: k + 1]) for n in p.split(":"))
        out.append((name, factors))
    return out


def _names_in(text: str) -> list:
    """Identifiers in a patsy expression that should be data columns (not functions or built-ins)."""
    names = []
    for m in re.finditer(r"""Q\(\s*(['"])(.+?)\1\s*\)""", text):
        names.append(m.group(2))
    return names + [name for _, _, name in _column_tokens(_masked(text))]


def _column_tokens(masked: str):
    """(start, end, name) of every bare name in ``masked`` that stands for a data column.

    Function calls (a name followed by ``(``), contrasts, constants and ``np.`` attributes are not
    columns; a formula function's name standing alone (``log``, ``scale``) is.
    """
    for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_.]*", masked):
        name = m.group(0)
        if m.start() and (masked[m.start() - 1].isalnum() or masked[m.start() - 1] in "_."):
            continue  # part of a number such as 1e5
        if masked[m.end():].lstrip().startswith("("):
            continue  # a function call
        if name in _NEVER_COLUMNS or name.split(".")[0] in ("np", "numpy"):
            continue
        yield m.start(), m.end(), name


# --------------------------------------------------------------------------- handing the formula to patsy

def for_patsy(parsed: ParsedFormula) -> ParsedFormula:
    """The same formula, written so that patsy reads it as R does.

    * A column name patsy cannot read as written is quoted with ``Q()``: Python keywords (``class``),
      R-style dotted names (``y.val``), names of formula functions used as columns (``log``, ``scale``).
    * ``^`` inside ``I()`` is a power, as in R (``I(age^2)``); patsy would read it as Python's XOR.

    The outcome, the formula text and the grouping factors stay as written (``fixed_formula`` quotes
    the outcome); use :func:`user_name` to turn patsy's column names back into the user's.

    Examples
    --------
    >>> p = for_patsy(parse_formula("y.val ~ class + I(age^2) + (x.c || g)"))
    >>> p.fixed_formula
    "Q('y.val') ~ Q('class') + I(age**2)"
    >>> [t.design for t in p.random]
    ['1', "0 + Q('x.c')"]
    """
    random = tuple(replace(t, terms=tuple(_rewrite(x) for x in t.terms)) for t in parsed.random)
    return replace(parsed, fixed=_rewrite(parsed.fixed), random=random)


def user_name(patsy_name: str, parsed: ParsedFormula) -> str:
    """A patsy column name of :func:`for_patsy`'s formula, spelled as the user wrote the formula.

    Examples
    --------
    >>> p = parse_formula("y ~ x.c + I(age^2) + (1 | g)")
    >>> user_name("Q('x.c')", p), user_name("I(age ** 2)", p)
    ('x.c', 'I(age ^ 2)')
    """
    for name in parsed.variables():
        if _quoted(name) != name:
            patsy_name = patsy_name.replace(_quoted(name), name)
    if _has_r_power(parsed.formula):
        patsy_name = patsy_name.replace(" ** ", " ^ ")
    return patsy_name


def _quoted(name: str) -> str:
    """``name`` as patsy must see it: itself, or ``Q('name')`` when patsy would misread it."""
    plain = name.isidentifier() and not keyword.iskeyword(name) and name not in _KNOWN_NAMES
    return name if plain else f"Q({name!r})"


def _masked(text: str) -> str:
    """``text`` with the inside of quoted strings blanked out (same length)."""
    return re.sub(r"""(['"])(.*?)\1""", lambda m: m.group(1) + " " * len(m.group(2)) + m.group(1), text)


def _rewrite(text: str) -> str:
    """Quote the column names patsy would misread and make ``^`` inside ``I()`` a power."""
    masked = _masked(text)
    edits = [(a, b, _quoted(name)) for a, b, name in _column_tokens(masked) if _quoted(name) != name]
    for a, b in _power_spans(masked):
        edits += [(i, i + 1, "**") for i in range(a, b) if masked[i] == "^"]
    for a, b, new in sorted(edits, reverse=True):
        text = text[:a] + new + text[b:]
    return text


def _power_spans(masked: str):
    """(start, end) of the inside of every ``I(...)`` call."""
    spans = []
    for m in re.finditer(r"(?<![A-Za-z0-9_.])I\s*\(", masked):
        depth, start = 1, m.end()
        for k in range(start, len(masked)):
            depth += {"(": 1, ")": -1}.get(masked[k], 0)
            if depth == 0:
                spans.append((start, k))
                break
    return spans


def _has_r_power(text: str) -> bool:
    masked = _masked(text)
    return any("^" in masked[a:b] for a, b in _power_spans(masked))
