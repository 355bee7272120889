"""Grade the course's exercise notebooks without Docker (instructors only; not part of ``mlmlab``).

Command line, from the course's root folder (also ``make grade ASSIGNMENT=NN SUBMISSIONS=DIR OUT=DIR2``)::

    python -m mlmlab_grading --assignment 03 --submissions submitted/ --out graded/

Every ``*.ipynb`` in the submissions folder is one student (the file stem is the
student id; a folder holding exactly one notebook is one student too). Before any
submission runs, the master's worked solution is graded and must earn full marks.
Then each submission is graded on its own, several at a time:

1. the notebook is copied to its own scratch folder and run top to bottom in a
   fresh kernel, under bubblewrap (no network, read-only system, nothing but its
   own scratch folder writable or visible), with a time limit per cell and per
   submission and a cap on printed output (:mod:`mlmlab_grading.worker`); after
   every cell the answer variables named by the tests are exported as plain data;
2. the assignment's public *and* hidden tests, built from the master by
   ``otter assign`` into private memory, are run on those plain values in a new
   Python process for that submission alone (:mod:`mlmlab_grading.runner`).

Nothing a submission does (patching ``numpy.isclose``, ``json.dumps``, otter or
mlmlab, writing test files, exiting, looping, printing without end, answers that
cannot be exported or rebuilt) reaches the tests or any other submission: each
one can only change its own row.

Output: ``OUT/gradebook.csv`` (one row per student, sorted, no timestamps; an
existing gradebook is merged by student id and backed up in ``OUT/backups/``)
and ``OUT/feedback/<student>.txt``. The command exits with 1 when a submission
could not be graded (status ``invalid``, ``wrong_assignment`` or ``failed``).

This package is separate from the statistics library ``mlmlab``, which knows
nothing of masters or tests: ``import mlmlab`` in a student's kernel gives no way
to the answers.
"""

from mlmlab_grading.core import GRADEBOOK_COLUMNS, NOT_GRADED, STATUSES, GradingError, Report, grade, run

__all__ = ["grade", "run", "Report", "GradingError", "GRADEBOOK_COLUMNS", "STATUSES", "NOT_GRADED"]
