"""Run an assignment's tests on one submission's exported plain answers, in a fresh process.

Started by :mod:`mlmlab_grading` as ``python -I <this file>`` in an empty
temporary directory, once per submission, after that submission's kernel is
gone. Reads ``{"tests": {question: test file text}, "answers": "<json from the
export>", "plain_source": "<text of plain.py>", "memo_source": "<text of memo.py>"}`` on stdin and writes one JSON
line with the results per question on stdout. One process per submission: an
answer that cannot be rebuilt, or anything else that goes wrong here, costs that
submission only.

A question whose ``grader.check`` ran is graded on the export taken right after its last
such check (``at_check``), as otter's own grading does; any other question on the final state.

The tests are otter-grader exception-based test files, run by otter's own
:class:`otter.test_files.ExceptionTestFile`. Each test case gets freshly rebuilt
plain values (so one test cannot change what the next one sees) and imports
numpy, pandas, otter... pristine: nothing from the submission ran in this process.
Answers are rebuilt inside the error handling, one by one: an answer that cannot
be rebuilt becomes a "could not be graded" note on its question. Failure messages
carry the test's ``failure_message`` and the exception text, never the test's
source line (a hidden test's source holds the answer).
"""

import contextlib
import io
import json
import sys


def _load_plain(source):
    ns = {"__name__": "mlmlab_plain_runner"}
    exec(compile(source, "<mlmlab-plain>", "exec"), ns)
    return ns


def _notes(plain, exported, names):
    notes = []
    for name in names:
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
    return notes


def _import_test_files():
    """otter's test-file classes, without otter's package ``__init__`` (which imports otter's whole
    export and notebook machinery: seconds per submission). Same classes, same scoring."""
    import importlib.util
    import types

    # jsonschema (imported by nbformat, imported by otter's test files) loads the optional IRI-format checker
    # rfc3987_syntax if installed, building its grammar: about a second per submission, for a format that no
    # notebook schema uses. Blocking it is what jsonschema does when it is not installed.
    sys.modules.setdefault("rfc3987_syntax", None)
    if "otter" not in sys.modules:
        spec = importlib.util.find_spec("otter")
        if spec is not None and spec.submodule_search_locations:
            stub = types.ModuleType("otter")
            stub.__path__ = list(spec.submodule_search_locations)
            sys.modules["otter"] = stub
    from otter.test_files import ExceptionTestFile

    return ExceptionTestFile


def _memoise_fits(tests, memo_source):
    """Make ``mlmlab.fit`` remember its results in this process (one submission's tests), when the tests use
    it: the tests of a question often fit the same model to the same data as another test (each builds the
    reference it compares with). ``memo_source`` is the text of :mod:`mlmlab_grading.memo`."""
    if not memo_source or not any("mlmlab" in source for source in tests.values()):
        return  # tests that never fit a model need not import the library
    ns = {"__name__": "mlmlab_memo_runner"}
    exec(compile(memo_source, "<mlmlab-memo>", "exec"), ns)
    ns["install"]()


def run(tests, answers_json, plain_source, at_check=None, memo_source=""):
    """Results per question of ``tests`` on the answers in ``answers_json``.

    Parameters
    ----------
    tests : dict
        Question name -> otter exception-based test file text.
    answers_json : str
        The export of one submission (:func:`mlmlab_grading.plain.dumps`).
    plain_source : str
        Source text of :mod:`mlmlab_grading.plain`.
    at_check : dict, optional
        Question -> the export right after its last ``grader.check`` that ran without error.
        A question found here is graded on those values (otter's policy), others on ``answers_json``.
    memo_source : str, optional
        Source text of :mod:`mlmlab_grading.memo` (repeated fits in the tests are fitted once).

    Returns
    -------
    dict
        Question -> ``{"score", "possible", "cases", "notes"}``.
    """
    ExceptionTestFile = _import_test_files()
    _memoise_fits(tests, memo_source)
    plain = _load_plain(plain_source)
    results = {}
    for question, source in tests.items():
        test_file = ExceptionTestFile.from_string(source, path=question)
        cases = []
        names = [n for tc in test_file.test_cases for n in tc.body._get_func_params()]
        checked = (at_check or {}).get(question)
        graded_json = checked if checked is not None else answers_json
        notes = _notes(plain, plain["loads"](graded_json), names)
        if checked is not None:
            now, then = plain["loads"](answers_json), plain["loads"](checked)
            changed = [n for n in dict.fromkeys(names) if repr(now.get(n)) != repr(then.get(n))]
            if changed:
                notes.append(f"graded on the value(s) of {', '.join(changed)} when grader.check(\"{question}\") "
                             "last ran; changed later without checking again")
        for tc in test_file.test_cases:
            passed, message = True, ""
            sink = io.StringIO()
            try:
                env = plain["loads"](graded_json)
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
    """Read the request from stdin, write the results as one JSON line."""
    request = json.load(sys.stdin)
    at_check = request.get("at_check") if isinstance(request.get("at_check"), dict) else {}
    out = run(request["tests"], request["answers"], request["plain_source"], at_check,
              request.get("memo_source", ""))
    sys.stdout.write(json.dumps(out, sort_keys=True) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
