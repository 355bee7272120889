"""Sphinx configuration of the static course site (`make site` -> tools/build_site.py -> _build/site).

tools/build_site.py stages docs/index.md, notebooks/*.ipynb and exercises/*.ipynb (never solutions/)
into one source folder and runs Sphinx with this file. Notebooks are shown with their stored outputs.
The site needs no network: MathJax is served from the site itself (staged under _vendor/mathjax/ from a
pinned PyPI package), widgets are shown as pictures of their first view, and no web fonts are fetched.
"""

from pathlib import Path

project = "mlmlab"
author = "The mlmlab contributors"
copyright = "2026, The mlmlab contributors. Code BSD-3-Clause, text CC BY 4.0"
html_title = "Multilevel models in Python"

extensions = ["myst_nb"]
root_doc = "index"
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "_originals", "_vendor", "**/.ipynb_checkpoints", "**/tests/**", "**/solutions/**"]

# Never execute: the lessons are committed executed and checked by nbval; the site shows those outputs.
nb_execution_mode = "off"
nb_merge_streams = True
nb_ipywidgets_js = {}  # no widget manager from a CDN (build_site.py shows widgets as pictures)
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "html_image"]
myst_dmath_double_inline = True
myst_heading_anchors = 3

# MathJax 3 from the site's own _static/mathjax/ (a path relative to _static works on every page, offline).
mathjax_path = "mathjax/tex-mml-chtml.js"

html_theme = "sphinx_book_theme"
html_theme_options = {
    "show_toc_level": 2,
    "home_page_in_toc": True,
    "use_download_button": False,  # each page has its own "Download notebook" link to the untouched notebook
}
html_static_path = ["_static"]
html_css_files = ["mlmlab.css"]
html_show_sourcelink = False
html_copy_source = False  # the staged copies are not the notebooks to download
html_last_updated_fmt = None  # no build date: the same sources give the same site


def _add_vendored_static(app):
    """Serve the staged _vendor/ folder (MathJax) as part of _static/."""
    vendor = Path(app.srcdir) / "_vendor"
    if vendor.is_dir():
        app.config.html_static_path.append(str(vendor))


def setup(app):
    app.connect("builder-inited", _add_vendored_static)
