"""Tests for mlmlab.datasets: shipped files, dtypes, factor levels, metadata and errors."""

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlmlab import datasets
from mlmlab._checks import MlmlabInputError

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "mlmlab" / "datasets" / "data"

# SHA-256 of the shipped files. They pin the bytes produced by tools/export_datasets.R and
# tools/make_schools50.py; regenerate and update deliberately, never by accident.
CHECKSUMS = {
    "hsb.csv": "18a2ca60ea95ac104577491e5823e296f8bc9e23bf399d4588452349058e3e68",
    "sleepstudy.csv": "2918bbddf750e78003059efa97b94885b85c4d7927c22a19c29f7fa5a184c59d",
    "dyestuff.csv": "8c41baf5c35281f3cdbf79b9803c84036de0a66c2e0bbf73cc6d274bf8f193cc",
    "dyestuff2.csv": "2285d9b4e15c04a326fd944f0e7bcc9dfcf6eb180a959bc9bcc333b1e5b58011",
    "penicillin.csv": "8d7e09b5c2519c595a7515028cba5ea149dcd9f99aa08e423534bd139a1eae1f",
    "pastes.csv": "2ff3dab894c7526ba90394ad4b95c20ef085c1f36255b47432833535874c78a7",
    "schools50.csv": "fd3931dfc4c59b15db99f9ff22e882de27c1ba7723b165017def62bf228d33ac",
}

SHAPES = {
    "hsb": (7185, 12), "sleepstudy": (180, 3), "dyestuff": (30, 2), "dyestuff2": (30, 2),
    "penicillin": (144, 3), "pastes": (60, 4), "schools50": (1377, 3),
}

COLUMNS = {
    "hsb": ["School", "Minority", "Sex", "SES", "MathAch", "MEANSES", "Size", "Sector", "PRACAD",
            "DISCLIM", "HIMINTY", "cses"],
    "sleepstudy": ["Reaction", "Days", "Subject"],
    "dyestuff": ["Batch", "Yield"],
    "dyestuff2": ["Batch", "Yield"],
    "penicillin": ["diameter", "plate", "sample"],
    "pastes": ["strength", "batch", "cask", "sample"],
    "schools50": ["school", "ses", "math"],
}

# Categorical columns with R's level order (first level = R's reference level); None = check count only.
LEVELS = {
    "hsb": {"School": 160, "Minority": ["No", "Yes"], "Sex": ["Male", "Female"],
            "Sector": ["Public", "Catholic"], "HIMINTY": ["0", "1"]},
    "sleepstudy": {"Subject": 18},
    "dyestuff": {"Batch": ["A", "B", "C", "D", "E", "F"]},
    "dyestuff2": {"Batch": ["A", "B", "C", "D", "E", "F"]},
    "penicillin": {"plate": 24, "sample": ["A", "B", "C", "D", "E", "F"]},
    "pastes": {"batch": 10, "cask": ["a", "b", "c"], "sample": 30},
    "schools50": {"school": 50},
}

NAMES = list(SHAPES)


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_schools50", ROOT / "tools" / "make_schools50.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("filename", sorted(CHECKSUMS))
def test_shipped_file_checksum(filename):
    digest = hashlib.sha256((DATA / filename).read_bytes()).hexdigest()
    assert digest == CHECKSUMS[filename]


def test_every_csv_has_metadata_and_checksum():
    shipped = {p.name for p in DATA.glob("*.csv")}
    assert shipped == set(CHECKSUMS)
    meta = json.loads((DATA / "datasets.json").read_text(encoding="utf-8"))
    assert list(meta) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_shape_and_columns(name):
    data = datasets.load(name)
    assert data.shape == SHAPES[name]
    assert list(data.columns) == COLUMNS[name]
    assert not data.isna().any().any()


@pytest.mark.parametrize("name", NAMES)
def test_factor_columns_are_categorical_with_r_levels(name):
    data = datasets.load(name)
    for col, expected in LEVELS[name].items():
        assert isinstance(data[col].dtype, pd.CategoricalDtype), col
        cats = list(data[col].cat.categories)
        if isinstance(expected, int):
            assert len(cats) == expected
            assert cats == sorted(cats)  # R's default: levels sorted as text
        else:
            assert cats == expected
        assert not data[col].cat.ordered
    non_factor = [c for c in data.columns if c not in LEVELS[name]]
    for col in non_factor:
        assert pd.api.types.is_numeric_dtype(data[col]), col


def test_metadata_documents_every_column():
    meta = json.loads((DATA / "datasets.json").read_text(encoding="utf-8"))
    for name, info in meta.items():
        assert list(info["columns"]) == COLUMNS[name]
        assert set(info["factors"]) == set(LEVELS[name])
        for group in info["groups"]:
            assert group in info["factors"]
        for key in ("description", "source", "reference", "licence"):
            assert info[key].strip(), (name, key)


def test_specific_values_and_types():
    hsb = datasets.load("hsb")
    first = hsb.iloc[0]
    assert first["School"] == "1224" and first["Sex"] == "Female" and first["Minority"] == "No"
    assert first["SES"] == -1.528 and first["MathAch"] == 5.876 and first["MEANSES"] == -0.428
    assert first["Size"] == 842 and first["Sector"] == "Public" and first["HIMINTY"] == "0"
    assert hsb["School"].value_counts().min() == 14
    assert hsb["School"].value_counts().max() == 67
    assert (hsb["Sector"] == "Catholic").sum() == 3543  # 70 Catholic schools (checked in R)
    sleep = datasets.load("sleepstudy")
    assert sleep["Days"].tolist()[:10] == list(range(10))
    assert sleep["Reaction"].iloc[0] == 249.56
    assert list(sleep["Subject"].cat.categories[:3]) == ["308", "309", "310"]
    assert datasets.load("dyestuff")["Yield"].mean() == 1527.5
    pastes = datasets.load("pastes")
    assert (pastes["sample"].astype(str) == pastes["batch"].astype(str) + ":" + pastes["cask"].astype(str)).all()


def test_school_level_columns_constant_within_school():
    hsb = datasets.load("hsb")
    per_school = hsb.groupby("School", observed=True)[["MEANSES", "Size", "Sector", "PRACAD", "DISCLIM", "HIMINTY"]]
    assert (per_school.nunique() == 1).all().all()


def test_cses_is_ses_minus_exact_school_mean():
    hsb = datasets.load("hsb")
    means = hsb.groupby("School", observed=True)["cses"].mean()
    assert np.abs(means).max() < 1e-12
    exact = hsb["SES"] - hsb.groupby("School", observed=True)["SES"].transform("mean")
    np.testing.assert_allclose(hsb["cses"], exact, rtol=0, atol=1e-12)


def test_meanses_is_not_the_exact_school_mean_and_this_is_documented():
    hsb = datasets.load("hsb")
    diff = hsb["MEANSES"] - hsb.groupby("School", observed=True)["SES"].transform("mean")
    # nlme's MEANSES is 0.0055 to 0.0065 above the mean SES of the school's students in these rows.
    assert diff.min() > 0.0054 and diff.max() < 0.0065
    assert round(float(np.abs(diff).max()), 5) == 0.00648
    meta = json.loads((DATA / "datasets.json").read_text(encoding="utf-8"))
    assert "0.00648" in meta["hsb"]["note"] and "cses" in meta["hsb"]["note"]
    assert "MEANSES" in datasets.load.__doc__ and "MEANSES" in datasets.__doc__
    readme = (ROOT / "mlmlab" / "datasets" / "README.md").read_text(encoding="utf-8")
    assert "0.00648" in readme


def test_load_returns_a_fresh_copy():
    first = datasets.load("dyestuff")
    first.loc[0, "Yield"] = -1
    first["extra"] = 1
    second = datasets.load("dyestuff")
    assert second.loc[0, "Yield"] == 1545
    assert "extra" not in second.columns


def test_unknown_name_lists_available_names():
    with pytest.raises(MlmlabInputError, match=(
            r"The 'name' argument of load must be the name of a course dataset\. Got 'hbs'; "
            r"available: hsb, sleepstudy, dyestuff, dyestuff2, penicillin, pastes, schools50\. "
            r"See mlmlab\.datasets\.list_datasets\(\)")):
        datasets.load("hbs")


def test_non_string_name_is_a_type_error():
    with pytest.raises(TypeError, match=r"The 'name' argument of load must be a dataset name \(a string\)\. Got 3"):
        datasets.load(3)


def test_list_datasets_content():
    table = datasets.list_datasets()
    assert list(table.columns) == ["name", "description", "rows", "groups", "source", "licence"]
    assert table["name"].tolist() == NAMES
    assert dict(zip(table["name"], table["rows"])) == {n: s[0] for n, s in SHAPES.items()}
    groups = dict(zip(table["name"], table["groups"]))
    assert groups["hsb"] == "School"
    assert groups["penicillin"] == "plate, sample"
    assert groups["schools50"] == "school"
    sources = dict(zip(table["name"], table["source"]))
    assert "nlme" in sources["hsb"] and "lme4" in sources["sleepstudy"]
    assert "make_schools50.py" in sources["schools50"]
    assert table["licence"].str.len().gt(0).all()


def test_schools50_design():
    data = datasets.load("schools50")
    sizes = data["school"].value_counts()
    assert len(sizes) == 50
    assert sizes.min() >= 20 and sizes.max() <= 40 and sizes.nunique() > 1
    assert np.isclose(data["math"].mean(), 72.5, atol=1.5)


def test_schools50_generator_reproduces_shipped_file(tmp_path):
    gen = _load_generator()
    out = gen.main(tmp_path / "schools50.csv")
    assert out.read_bytes() == (DATA / "schools50.csv").read_bytes()


def test_schools50_generator_is_seeded_through_a_generator():
    gen = _load_generator()
    a = gen.make(np.random.default_rng(1))
    b = gen.make(np.random.default_rng(1))
    c = gen.make(np.random.default_rng(2))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
