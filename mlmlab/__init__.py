"""mlmlab: helpers for an open course on multilevel linear models.

Explicit re-exports only; each concept lives in its own module.
"""

from mlmlab import boundary
from mlmlab import datasets
from mlmlab import engine
from mlmlab import simulate
from mlmlab import studies
from mlmlab.anova import anova
from mlmlab.compare import bootstrap_lrt, compare
from mlmlab.design import ModelDesign, build_design
from mlmlab.estimation import Control
from mlmlab.exceptions import ConvergenceWarning, FitError, MlmlabInputError
from mlmlab.fitting import fit
from mlmlab.icc import design_effect, effective_n, icc
from mlmlab.intervals import confint
from mlmlab.kenward_roger import kenward_roger
from mlmlab.r2 import r2_nakagawa
from mlmlab.satterthwaite import satterthwaite
from mlmlab.report import format_report, report_table
from mlmlab.result import MixedResult
from mlmlab.simulate import simulate_two_level

__version__ = "0.1.0"

__all__ = [
    "boundary",
    "datasets",
    "engine",
    "simulate",
    "studies",
    "fit",
    "Control",
    "build_design",
    "ModelDesign",
    "MixedResult",
    "ConvergenceWarning",
    "FitError",
    "MlmlabInputError",
    "icc",
    "confint",
    "design_effect",
    "effective_n",
    "compare",
    "bootstrap_lrt",
    "r2_nakagawa",
    "satterthwaite",
    "kenward_roger",
    "anova",
    "report_table",
    "format_report",
    "simulate_two_level",
]
