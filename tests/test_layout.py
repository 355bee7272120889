"""The package's import graph: one path formula → design → engine/estimation → result → fit, then inference,
plots and widgets above it, and no cycles (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mlmlab"

# Lower layers never import higher ones. A module may import modules of its own layer or below.
LAYERS = [
    {"mlmlab._checks", "mlmlab._linalg", "mlmlab.exceptions", "mlmlab.published", "mlmlab.datasets"},
    {"mlmlab.formula", "mlmlab.simulate", "mlmlab.boundary", "mlmlab.diagnostics", "mlmlab.shrinkage"},
    {"mlmlab.design", "mlmlab.engine", "mlmlab.deviance", "mlmlab.pls"},
    {"mlmlab.estimation", "mlmlab.satterthwaite", "mlmlab.kenward_roger", "mlmlab.resample", "mlmlab.intervals"},
    {"mlmlab.result"},
    {"mlmlab.fitting"},
    {"mlmlab.compare", "mlmlab.icc", "mlmlab.r2", "mlmlab.influence", "mlmlab.report", "mlmlab.studies",
     "mlmlab.bench", "mlmlab.anova"},
    {"mlmlab.plots"},
    {"mlmlab.widgets"},
    {"mlmlab"},
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set:
    """mlmlab modules imported anywhere in a file (top level or inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "mlmlab"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "mlmlab":
            for alias in node.names:
                sub = PACKAGE.parent / f"{node.module}.{alias.name}".replace(".", "/")
                # `from mlmlab import engine` imports the module mlmlab.engine; `from mlmlab.x import f`, mlmlab.x
                out.add(f"{node.module}.{alias.name}" if sub.with_suffix(".py").exists() or sub.is_dir()
                        else node.module)
    return out


def _graph() -> dict:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imp in _imports(path):
            while imp not in modules and "." in imp:   # a name inside a module: the module itself
                imp = imp.rsplit(".", 1)[0]
            if imp in modules and imp != name:
                targets.add(imp)
        graph[name] = targets
    return graph


def _layer(module: str) -> int:
    """The layer of a module: its own entry, else that of its package (mlmlab.plots.lrt -> mlmlab.plots)."""
    probe = module
    while True:
        for k, members in enumerate(LAYERS):
            if probe in members:
                return k
        if "." not in probe:
            raise AssertionError(f"{module} is in no layer of tests/test_layout.py: place it")
        probe = probe.rsplit(".", 1)[0]


def test_every_module_has_a_layer_and_imports_only_downwards():
    graph = _graph()
    upward = []
    for module, targets in graph.items():
        for target in targets:
            if module == "mlmlab":
                continue  # the package's __init__ re-exports from every layer
            if target == "mlmlab":
                upward.append((module, target))
            elif _layer(target) > _layer(module) and not target.startswith(module + "."):
                upward.append((module, target))
    assert not upward, f"imports from a lower layer into a higher one: {sorted(upward)}"


def test_import_graph_has_no_cycles():
    graph = {m: {t for t in ts if t != "mlmlab"} for m, ts in _graph().items()}
    state, cycle = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycle.extend(stack[stack.index(nxt):] + [nxt])
                return True
            if nxt not in state and visit(nxt, stack + [nxt]):
                return True
        state[node] = "done"
        return False

    for node in sorted(graph):
        if node not in state and visit(node, [node]):
            break
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_the_fit_path_is_formula_design_estimation_result():
    graph = _graph()
    assert "mlmlab.formula" in graph["mlmlab.design"]
    assert "mlmlab.design" in graph["mlmlab.estimation"] and "mlmlab.engine" in graph["mlmlab.estimation"]
    assert "mlmlab.estimation" in graph["mlmlab.result"]
    assert {"mlmlab.design", "mlmlab.result"} <= graph["mlmlab.fitting"]
    # Only the design reads a formula into matrices: nobody else imports patsy.
    readers = sorted(p.name for p in PACKAGE.rglob("*.py") if "import patsy" in p.read_text(encoding="utf-8")
                     or "from patsy" in p.read_text(encoding="utf-8"))
    assert readers == ["design.py", "formula.py"], readers


def test_no_module_reaches_into_a_results_private_parts():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "result.py":
            continue
        text = path.read_text(encoding="utf-8")
        for private in ("._spec", "._cov", "._u_est", "._fe_cov", "._fixed_part"):
            if private in text:
                offenders.append((path.name, private))
    assert not offenders, offenders


def test_a_cycle_or_an_upward_import_would_be_seen(tmp_path):
    """The checks above can fail: a fake package where the design imports the result is caught by both."""
    fake = tmp_path / "mlmlab"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "design.py").write_text("def f():\n    from mlmlab.result import MixedResult\n")
    (fake / "result.py").write_text("from mlmlab import design\n")
    globals()["PACKAGE"] = fake
    try:
        graph = _graph()
        assert graph["mlmlab.result"] == {"mlmlab.design"} and graph["mlmlab.design"] == {"mlmlab.result"}
        assert _layer("mlmlab.result") > _layer("mlmlab.design")
    finally:
        globals()["PACKAGE"] = Path(__file__).resolve().parents[1] / "mlmlab"
