"""Sphinx configuration of descent's documentation site.

Build (after ``pip install ".[docs]"``, from the repository root), one command::

    python -m sphinx -W -b html docs docs/_build/html       # the site (runs the gallery)

and, to run the ``>>>`` examples of the pages and docstrings as tests::

    python -m sphinx -W -b doctest docs docs/_build/doctest

CI (``.ci/run``) runs both with ``-W --keep-going``. The outputs
(docs/_build, docs/auto_examples, docs/api/generated,
docs/sg_execution_times.rst) are git-ignored.

The site documents the *installed* package (autodoc imports ``descent``, whose
kernels are compiled): ``src/`` is deliberately not put on ``sys.path``. To
document another build, install it elsewhere (``pip install --target DIR .``)
and put DIR first on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import descent

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))      # the local extensions (docs/_ext/)

project = "descent"
author = "the descent developers"
copyright = "the descent developers"
release = descent.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "api_listing",                            # docs/_ext/: the API page complete
    "defaults_table",                         # docs/_ext/: eta0="auto" from the code
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints",
                    "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json"]
templates_path = ["_templates"]

# -- autodoc / autosummary / numpydoc ----------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"          # the numpydoc sections say the types
add_module_names = False
# numpydoc would add a "Methods" table to every class page that needs a stub
# page per method; the class template lists the methods itself.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True

# -- myst (docs/architecture.md is Markdown, written once) -------------------
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# -- doctest: the >>> snippets of the user guide run with `-b doctest` -------
# ConvergenceWarnings go to stderr, not into an example's output: silenced here
# so that the build's log shows failures only (the pages that discuss a
# warning record it with warnings.catch_warnings, which this does not affect).
doctest_global_setup = """
import warnings
import numpy as np
from sklearn.exceptions import ConvergenceWarning
warnings.simplefilter("ignore", ConvergenceWarning)
np.set_printoptions(precision=4, suppress=True)
"""
doctest_test_doctest_blocks = "default"

# -- sphinx-gallery: examples/ -> docs/auto_examples/ ------------------------
# Every examples/*.py is a gallery page (examples/plot_*.py included, whoever
# adds them: nothing to register here), and every one is RUN at build time
# (filename_pattern matches all, not only plot_*), so a broken example fails
# the build and its figures come from the installed package. An example must
# be in sphinx-gallery's format: a docstring with a "===" title, then code
# with "# %%" text cells; keep each to a few seconds (the build runs in CI).
# Left out: private helpers (_name.py) and conftest.py.
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",
    "ignore_pattern": r"(^|[\\/])(_[^\\/]*|conftest)\.py$",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "image_scrapers": ("matplotlib",),
}
# no display needed to draw figures
os.environ.setdefault("MPLBACKEND", "Agg")

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"descent {release}"
html_static_path = ["_static"]
html_css_files = ["descent.css"]
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "getting_started": [], "benchmarks": [], "architecture": []}


# -- docstrings: fitted-attribute names inside "of shape (...)" ---------------
# numpydoc renders a parameter's or attribute's type as reST, where a bare
# name ending in "_" is a link: "ndarray of shape (n_features_in_,)" fails the
# build ('Unknown target name: "n_features_in"'). scikit-learn writes
# (`n_features_in_`,); until every docstring does, such names are quoted here.
_SHAPE = re.compile(r"of shape \([^)]*\)")
_TRAILING_UNDERSCORE = re.compile(r"(?<![`\w])([A-Za-z]\w*_)(?![`\w])")


def _quote_shape_names(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        lines[i] = _SHAPE.sub(
            lambda m: _TRAILING_UNDERSCORE.sub(r"``\1``", m.group(0)), line)


def setup(app):
    app.connect("autodoc-process-docstring", _quote_shape_names)
