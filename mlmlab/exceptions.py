"""The errors and warnings mlmlab raises, so that users can catch or filter them by class.

* :class:`MlmlabInputError` (a ``ValueError``): bad input to a public function, in the course's message
  template (what was expected, what was given, how to fix it).
* :class:`FitError` (a ``RuntimeError``): no optimizer produced a usable fit.
* :class:`ConvergenceWarning` (a ``UserWarning``): optimizers did not converge, or converged runs disagree.

Examples
--------
>>> import warnings
>>> from mlmlab.exceptions import ConvergenceWarning
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore", ConvergenceWarning)   # silence only mlmlab's convergence notes
...     pass
>>> issubclass(ConvergenceWarning, UserWarning)
True
"""

from __future__ import annotations

from mlmlab._checks import MlmlabInputError

__all__ = ["MlmlabInputError", "FitError", "ConvergenceWarning"]


class FitError(RuntimeError):
    """No optimizer produced a usable fit."""


class ConvergenceWarning(UserWarning):
    """The optimizers did not converge, or converged runs disagree (the best fit is kept and reported)."""
