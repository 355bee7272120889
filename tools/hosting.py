"""Where the course is published: one setting, ``[tool.mlmlab.hosting]`` in ``pyproject.toml``.

``make nav`` (tools/make_nav.py) writes it into README.md, lesson 00 and CITATION.cff, and ``make site``
(tools/build_site.py) into every page's launch buttons. Until a field is set, the texts say what to do
without it (no placeholder to replace by hand)::

    [tool.mlmlab.hosting]
    source_repository = "https://github.com/ORG/mlmlab"          # this repository (solutions included)
    student_repository = "https://github.com/ORG/mlmlab-student"  # `make release` pushed there
    branch = "main"
    binderhub = "https://mybinder.org"
    jupyterhub = "https://hub.example.edu"                        # a hub with nbgitpuller

Binder and nbgitpuller links open the *student* repository only: a live copy of this repository would
hand students ``solutions/`` and the hidden tests.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

REPO = Path(__file__).resolve().parents[1]
SETTING = "`[tool.mlmlab.hosting]` in `pyproject.toml`"
KEYS = {"source_repository", "student_repository", "branch", "binderhub", "jupyterhub"}


@dataclass(frozen=True)
class Hosting:
    """Where learners get and run the course.

    Parameters
    ----------
    repository : str or None
        The public git repository of the student release (``https://github.com/ORG/REPO``): Binder
        builds it and nbgitpuller copies it into a hub user's home. ``None``: no launch links.
    branch : str
        The branch the live copies are made from.
    binderhub : str
        The BinderHub that builds the repository (mybinder.org is the public one).
    jupyterhub : str or None
        The course's JupyterHub, with nbgitpuller installed. ``None``: no JupyterHub link.
    source : str or None
        This repository (lessons, solutions, grader): the address instructors clone and cite.
    """

    repository: str | None = None
    branch: str = "main"
    binderhub: str = "https://mybinder.org"
    jupyterhub: str | None = None
    source: str | None = None

    def binder_url(self, path: str) -> str | None:
        """Binder link that opens ``path`` (repository-relative) in JupyterLab, or None when not hosted."""
        if not self.repository:
            return None
        parts = urlsplit(self.repository)
        slug = parts.path.strip("/").removesuffix(".git")
        if parts.netloc == "github.com":
            spec = f"gh/{slug}/{quote(self.branch, safe='')}"
        else:
            spec = f"git/{quote(self.repository, safe='')}/{quote(self.branch, safe='')}"
        return f"{self.binderhub.rstrip('/')}/v2/{spec}?urlpath={quote('lab/tree/' + path, safe='')}"

    def jupyterhub_url(self, path: str) -> str | None:
        """nbgitpuller link that copies the repository to the hub and opens ``path``, or None."""
        if not (self.repository and self.jupyterhub):
            return None
        folder = urlsplit(self.repository).path.strip("/").removesuffix(".git").rsplit("/", 1)[-1]
        query = (f"repo={quote(self.repository, safe='')}&branch={quote(self.branch, safe='')}"
                 f"&urlpath={quote(f'lab/tree/{folder}/{path}', safe='')}")
        return f"{self.jupyterhub.rstrip('/')}/hub/user-redirect/git-pull?{query}"

    def clone_url(self) -> str | None:
        """``git clone`` address of this repository, or None when it is not set."""
        if not self.source:
            return None
        return self.source if self.source.endswith(".git") else self.source.rstrip("/") + ".git"


def _url(table: dict, key: str, where: Path) -> str | None:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise ValueError(f"{where}: [tool.mlmlab.hosting] {key} must be a string (a URL, or \"\" when not set).")
    value = value.strip()
    if value and urlsplit(value).scheme not in ("http", "https"):
        raise ValueError(f"{where}: [tool.mlmlab.hosting] {key} = {value!r} is not an http(s) URL; "
                         "write the full address, e.g. \"https://github.com/ORG/mlmlab\", or \"\" when not set.")
    return value or None


def load(pyproject: Path = REPO / "pyproject.toml") -> Hosting:
    """The hosting setting from ``pyproject.toml``; an absent file or table means nothing is published.

    Raises
    ------
    ValueError
        On an unknown key or a value that is not an http(s) URL, naming the key and the fix.
    """
    if not pyproject.is_file():
        return Hosting()
    table = tomllib.loads(pyproject.read_text()).get("tool", {}).get("mlmlab", {}).get("hosting", {})
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise ValueError(f"{pyproject}: unknown key(s) {', '.join(unknown)} in [tool.mlmlab.hosting]; "
                         f"the keys are {', '.join(sorted(KEYS))}.")
    branch = table.get("branch", "main") or "main"
    return Hosting(repository=_url(table, "student_repository", pyproject), branch=str(branch),
                   binderhub=_url(table, "binderhub", pyproject) or "https://mybinder.org",
                   jupyterhub=_url(table, "jupyterhub", pyproject),
                   source=_url(table, "source_repository", pyproject))
