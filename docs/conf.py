"""Sphinx configuration of the static course site (`make site` -> tools/build_site.py -> _build/site).

tools/build_site.py stages docs/index.md, notebooks/*.ipynb and exercises/*.ipynb (never solutions/)
into one source folder and runs Sphinx with this file. Notebooks are shown with their stored outputs.
"""

project = "mlmlab"
author = "The mlmlab contributors"
copyright = "2026, The mlmlab contributors. Code BSD-3-Clause, text CC BY 4.0"
html_title = "Multilevel models in Python"

extensions = ["myst_nb"]
root_doc = "index"
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "**/tests/**", "**/solutions/**"]

# Never execute: the lessons are committed executed and checked by nbval; the site shows those outputs.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "html_image"]
myst_dmath_double_inline = True
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_theme_options = {
    "show_toc_level": 2,
    "home_page_in_toc": True,
    "use_download_button": True,
}
html_show_sourcelink = False
html_last_updated_fmt = None  # no build date: the same sources give the same site
