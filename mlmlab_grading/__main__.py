"""``python -m mlmlab_grading``: see :mod:`mlmlab_grading.cli`."""

import sys

from mlmlab_grading.cli import main

sys.exit(main())
