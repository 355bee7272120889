"""Plain-data export of graded answers.

The grader never lets the tests touch a student's live objects. After every cell
of a submission, the kernel turns the answer variables named in the master's
manifest into plain JSON with :func:`dumps` (this file's source is sent to the
kernel and run there in a private namespace). The tests then run in a fresh
process on the values rebuilt by :func:`loads`.

Only data survives the trip: numbers, strings, bools, None, lists, tuples,
dicts, sets, numpy arrays and scalars, pandas Series and DataFrames. Anything
else (a fitted model, a function, an object with a clever ``__eq__``) arrives as
a :class:`NotPlain` marker, so a test comparing it to a number fails.

This module must stay importable on its own (standard library only at import
time): the kernel executes its source text, not the installed package.

Every answer is encoded on its own (:func:`dumps`) and rebuilt on its own
(:func:`loads`): one answer that cannot be exported or rebuilt (a bytes array,
a set of sets, a hostile object) becomes a :class:`NotPlain` marker and never
costs the other answers anything.

Examples
--------
>>> import numpy as np
>>> text = dumps({"rho": np.float64(0.25), "letter": "b", "other": 1}, ["rho", "letter", "gone"])
>>> loads(text)
{'letter': 'b', 'rho': 0.25}
"""

import json

# Captured when this source runs (before any student cell): a notebook that later replaces
# json.dumps in its kernel does not change how the grader's export encodes.
_json_dumps = json.dumps
_json_loads = json.loads

MAX_ITEMS = 200_000
MAX_DEPTH = 6
MAX_STR = 100_000


class NotPlain:
    """Stands in for an answer that was not plain data (or was too large)."""

    def __init__(self, type_name, reason="not plain data"):
        self.type_name = type_name
        self.reason = reason

    def __repr__(self):
        return f"<{self.reason}: {self.type_name}>"


class _Budget:
    def __init__(self):
        self.left = MAX_ITEMS

    def take(self, n=1):
        self.left -= n
        if self.left < 0:
            raise OverflowError("answer too large")


def _type_name(obj):
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def _scalar(obj):
    """Exact plain value of a scalar (subclasses lose their overridden methods)."""
    if obj is None:
        return None
    if isinstance(obj, bool):
        return bool(obj)
    if isinstance(obj, int):
        return int.__index__(obj)
    if isinstance(obj, float):
        return float.__float__(obj)
    if isinstance(obj, str):
        text = str.__str__(obj)
        if len(text) > MAX_STR:
            raise OverflowError("string too long")
        return text
    if isinstance(obj, bytes):
        raw = bytes(obj)
        if len(raw) > MAX_STR:
            raise OverflowError("bytes too long")
        return {"__bytes__": raw.decode("latin-1")}
    return _NOT_SCALAR


_NOT_SCALAR = object()


def _numpy_scalar(obj):
    np = _module("numpy")
    if np is None or not isinstance(obj, np.generic):
        return _NOT_SCALAR
    if isinstance(obj, (np.bool_, np.integer, np.floating, np.str_, np.bytes_)):
        return _scalar(obj.item())
    return _NOT_SCALAR


def _module(name):
    import sys

    return sys.modules.get(name)


def to_plain(obj, _depth=0, _budget=None):
    """Encode ``obj`` as JSON-ready data (tagged dicts for non-JSON types)."""
    budget = _budget or _Budget()
    budget.take()
    if obj is Ellipsis:
        return {"__ellipsis__": True}
    if _depth > MAX_DEPTH:
        return {"__notplain__": _type_name(obj), "reason": "nested too deeply"}
    value = _scalar(obj)
    if value is not _NOT_SCALAR:
        return value
    value = _numpy_scalar(obj)
    if value is not _NOT_SCALAR:
        return value
    deeper = _depth + 1
    if isinstance(obj, list):
        return [to_plain(x, deeper, budget) for x in list.__iter__(obj)]
    if isinstance(obj, tuple):
        return {"__tuple__": [to_plain(x, deeper, budget) for x in tuple.__iter__(obj)]}
    if isinstance(obj, (set, frozenset)):
        items = [to_plain(x, deeper, budget) for x in obj]
        return {"__set__": sorted(items, key=repr)}
    if isinstance(obj, dict):
        return {"__dict__": [[to_plain(k, deeper, budget), to_plain(v, deeper, budget)]
                             for k, v in dict.items(obj)]}
    np, pd = _module("numpy"), _module("pandas")
    if np is not None and type(obj) is np.ndarray:
        if obj.dtype.kind not in "biufUSO":
            return {"__notplain__": f"numpy array of dtype {obj.dtype}", "reason": "not plain data"}
        budget.take(int(obj.size))
        items = obj.tolist()
        if obj.dtype.kind in "OS":  # objects and bytes: element by element
            return {"__ndarray__": to_plain(items, deeper, budget), "dtype": "object"}
        return {"__ndarray__": items, "dtype": str(obj.dtype)}
    if pd is not None and type(obj) is pd.Series:
        budget.take(int(obj.size))
        return {"__series__": to_plain(obj.tolist(), deeper, budget),
                "index": to_plain(obj.index.tolist(), deeper, budget),
                "name": to_plain(obj.name, deeper, budget), "dtype": str(obj.dtype)}
    if pd is not None and type(obj) is pd.DataFrame:
        budget.take(int(obj.size))
        return {"__dataframe__": {
            "columns": to_plain(list(obj.columns), deeper, budget),
            "index": to_plain(obj.index.tolist(), deeper, budget),
            "data": [to_plain(obj.iloc[:, j].tolist(), deeper, budget) for j in range(obj.shape[1])],
            "dtypes": [str(d) for d in obj.dtypes],
        }}
    return {"__notplain__": _type_name(obj), "reason": "not plain data"}


def _encode_one(value):
    """JSON text of one answer; a marker when it cannot be encoded (never raises)."""
    try:
        return _json_dumps(to_plain(value), allow_nan=True, sort_keys=True)
    except (OverflowError, RecursionError):
        reason = "too large"
    except Exception as exc:  # a hostile object may raise anything; it earns a marker
        reason = f"could not be read ({type(exc).__name__})"
    try:
        type_name = _type_name(value)
    except Exception:
        type_name = "object"
    return _json_dumps({"__notplain__": str(type_name), "reason": reason})


def dumps(namespace, names):
    """JSON text of the plain values of ``names`` found in ``namespace``.

    Each answer is encoded separately, so one that cannot be encoded becomes a marker
    and the others are exported as usual.
    """
    parts = []
    for name in sorted(set(names)):
        if name not in namespace:
            continue
        parts.append(_json_dumps(str(name)) + ": " + _encode_one(namespace[name]))
    return "{" + ", ".join(parts) + "}"


def from_plain(data):
    """Rebuild Python, numpy and pandas values from :func:`to_plain` output."""
    if isinstance(data, list):
        return [from_plain(x) for x in data]
    if not isinstance(data, dict):
        return data
    if "__tuple__" in data:
        return tuple(from_plain(x) for x in data["__tuple__"])
    if "__set__" in data:
        return {_hashable(from_plain(x)) for x in data["__set__"]}
    if "__dict__" in data:
        return {_hashable(from_plain(k)): from_plain(v) for k, v in data["__dict__"]}
    if "__ndarray__" in data:
        import numpy as np

        dtype = data.get("dtype", "object")
        items = from_plain(data["__ndarray__"]) if dtype == "object" else data["__ndarray__"]
        return np.array(items, dtype=dtype)
    if "__series__" in data:
        import pandas as pd

        series = pd.Series(from_plain(data["__series__"]), index=_index(data["index"]),
                           name=from_plain(data["name"]), dtype="object")
        return _astype(series, data.get("dtype"))
    if "__dataframe__" in data:
        import pandas as pd

        spec = data["__dataframe__"]
        columns = [_hashable(c) for c in from_plain(spec["columns"])]
        frame = pd.DataFrame({j: pd.Series(from_plain(col), dtype="object")
                              for j, col in enumerate(spec["data"])})
        if frame.shape[1] == 0:
            frame = pd.DataFrame(index=range(len(spec["index"])))
        frame.index = _index(spec["index"])
        frame.columns = columns
        for j, dtype in enumerate(spec["dtypes"]):
            frame.isetitem(j, _astype(frame.iloc[:, j], dtype))
        return frame
    if "__ellipsis__" in data:
        return Ellipsis
    if "__bytes__" in data:
        return str(data["__bytes__"]).encode("latin-1")
    if "__notplain__" in data:
        return NotPlain(data["__notplain__"], data.get("reason", "not plain data"))
    return NotPlain("dict", "unrecognised export")


def _hashable(x):
    """A hashable stand-in for a rebuilt set element or dict key (sets of sets, list keys)."""
    if isinstance(x, list):
        return tuple(_hashable(v) for v in x)
    if isinstance(x, (set, frozenset)):
        return frozenset(_hashable(v) for v in x)
    if isinstance(x, dict):
        return tuple((k, _hashable(v)) for k, v in x.items())
    return x


def _index(items):
    import pandas as pd

    values = [_hashable(x) for x in from_plain(items)]
    if values and all(isinstance(v, tuple) for v in values):
        return pd.MultiIndex.from_tuples(values)
    return pd.Index(values) if values else pd.RangeIndex(0)


def _astype(series, dtype):
    if not dtype or dtype == "object":
        return series
    try:
        return series.astype(dtype)
    except (TypeError, ValueError):
        return series


def loads(text):
    """Rebuild a ``{name: value}`` dict from :func:`dumps` output.

    Each answer is rebuilt on its own: one that cannot be rebuilt (whatever the export
    produced) becomes a :class:`NotPlain` marker and the others come back as usual.
    Text that is not a JSON object gives an empty dict.
    """
    try:
        raw = _json_loads(text)
    except (TypeError, ValueError, RecursionError):
        return {}
    if not isinstance(raw, dict):
        return {}
    out = {}
    for key, value in raw.items():
        try:
            out[str(key)] = from_plain(value)
        except Exception as exc:  # untrusted export: any failure stays with this one answer
            out[str(key)] = NotPlain("unreadable export", f"could not be rebuilt ({type(exc).__name__})")
    return out

