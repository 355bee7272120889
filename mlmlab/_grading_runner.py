"""Run an assignment's tests on exported plain answers, in a fresh process (private).

Started by :mod:`mlmlab.grading` as ``python -I <this file>`` in an empty
temporary directory, after the submission's kernel is gone. Reads
``{"tests": {question: test file text}, "submissions": {student: "<json from the export>"}}``
on stdin and writes one JSON line with the results per student on stdout. The
answers are only data (JSON), so one process can check every submission.

The tests are otter-grader exception-based test files, run by otter's own
:class:`otter.test_files.ExceptionTestFile`. Each test case gets freshly rebuilt
plain values (so one test cannot change what the next one sees) and imports
numpy, pandas, otter... pristine: nothing from the submission ran in this process.
Failure messages carry the test's ``failure_message`` and the exception text,
never the test's source line (a hidden test's source holds the answer).
"""

import contextlib
import io
import json
import os
import sys


def _load_plain():
    here = os.path.dirname(os.path.abspath(__file__))
    ns = {"__name__": "mlmlab_plain_runner"}
    with open(os.path.join(here, "_plain.py")) as f:
        exec(compile(f.read(), os.path.join(here, "_plain.py"), "exec"), ns)
    return ns


def run(tests, answers_json):
    from otter.test_files import ExceptionTestFile

    plain = _load_plain()
    results = {}
    for question, source in tests.items():
        test_file = ExceptionTestFile.from_string(source, path=question)
        cases, notes = [], []
        exported = plain["loads"](answers_json)
        for tc in test_file.test_cases:
            for name in tc.body._get_func_params():
                if name not in exported:
                    note = f"{name} was not defined when the notebook finished running"
                elif exported[name] is Ellipsis:
                    note = f"{name} still holds ... (not answered yet)"
                elif isinstance(exported[name], plain["NotPlain"]):
                    kind = exported[name]
                    note = (f"{name} could not be graded: it is {kind.reason} ({kind.type_name}); "
                            "store a number, string, bool, list, array or DataFrame")
                else:
                    continue
                if note not in notes:
                    notes.append(note)
        for tc in test_file.test_cases:
            env = plain["loads"](answers_json)
            passed, message = True, ""
            sink = io.StringIO()
            try:
                with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                    tc.body.call_func(env)
            except Exception as exc:  # a failing test may raise anything
                passed = False
                text = str(exc).strip()
                message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
            cases.append({
                "name": tc.name, "hidden": bool(tc.hidden), "points": float(tc.points),
                "passed": passed, "message": message, "failure_message": tc.failure_message,
                "success_message": tc.success_message,
            })
        test_file.test_case_results = []
        earned = sum(c["points"] for c in cases if c["passed"])
        possible = sum(c["points"] for c in cases)
        if test_file.all_or_nothing and not all(c["passed"] for c in cases):
            earned = 0.0
        results[question] = {"score": earned, "possible": possible, "cases": cases, "notes": notes}
    return results


def main():
    request = json.load(sys.stdin)
    out = {student: run(request["tests"], answers)
           for student, answers in sorted(request["submissions"].items())}
    sys.stdout.write(json.dumps(out, sort_keys=True) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
