"""Keep the API reference complete while the package grows.

``docs/api/index.rst`` sorts the public classes and functions into sections by
hand (autosummary tables, a page each). A public name that no table lists
yet -- a new estimator, function or display that landed without a docs
change -- is not left out: when Sphinx reads ``api/index.rst`` this extension
appends a section "Not yet sorted" documenting each such name in full on
that page, and warns, naming them, so that the build with ``-W`` (CI) fails
until each has its line in a section. Moving a name into a section's
autosummary table gives it its own page and empties that section.

Public means: a class or function named in the ``__all__`` of ``descent``,
of a module in it (``descent.optim``, ``descent.schedules``), or of one of
``EXTRA_MODULES`` (``descent.dask``, which ``descent`` does not import).
Constants in ``__all__`` (``OPTIMIZER_NAMES``...) are described in the text.

Also: the metadata-routing methods scikit-learn attaches to every estimator
(``set_fit_request``...) are left out of the class pages; their docstrings
point into scikit-learn's user guide, and routing is scikit-learn's feature.
The methods a class inherits from scikit-learn (``score``, ``get_params``...)
are documented with scikit-learn's docstrings, whose ``:ref:`` roles name
labels of scikit-learn's site: they become plain text naming that guide.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types

from sphinx.util import logging

logger = logging.getLogger(__name__)

API_DOC = "api/index"
EXTRA_MODULES = ("descent.dask",)
ROUTING = re.compile(r"^(get_metadata_routing|set_\w+_request)$")
SKLEARN_REF = re.compile(r":ref:`(?:([^`<]*?)\s*<([^`>]+)>|([^`]+))`")


def public_objects(root="descent"):
    """Qualified names of the public classes and functions, in ``__all__`` order."""
    names = []
    modules = [importlib.import_module(root)]
    seen = set()
    while modules:
        module = modules.pop(0)
        if module.__name__ in seen:
            continue
        seen.add(module.__name__)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name, None)
            if isinstance(obj, types.ModuleType):
                modules.append(obj)
            elif inspect.isclass(obj) or inspect.isroutine(obj):
                names.append(f"{module.__name__}.{name}")
        if module.__name__ == root:
            for extra in EXTRA_MODULES:
                try:
                    modules.append(importlib.import_module(extra))
                except ImportError as exc:      # the docs extra installs dask
                    logger.warning(f"api_listing: cannot import {extra}: {exc}")
    return names


def listed_names(text):
    """The qualified names that the autosummary tables of ``text`` list."""
    listed = set()
    current = None
    in_table = False
    for line in text.splitlines():
        stripped = line.strip()
        match = re.match(r"\.\. (?:py:)?currentmodule:: (\S+)", stripped)
        if match:
            current, in_table = match.group(1), False
            continue
        if stripped.startswith(".. autosummary::"):
            in_table = True
            continue
        if not in_table or not stripped or stripped.startswith(":"):
            continue
        if not line[0].isspace():
            in_table = False
            continue
        entry = stripped.lstrip("~")
        listed.add(entry if entry.startswith("descent") or current is None
                   else f"{current}.{entry}")
    return listed


def unsorted_section(names):
    """reST documenting ``names`` in full, on the API page itself."""
    lines = ["", "", "Not yet sorted", "--------------", "",
             "Public in this build, not yet in a section above (see",
             "``docs/_ext/api_listing.py``).", "", ".. autosummary::", ""]
    lines += [f"   {name}" for name in names]
    lines.append("")
    for name in names:
        obj = _resolve(name)
        directive = "autoclass" if inspect.isclass(obj) else "autofunction"
        lines += ["", f".. {directive}:: {name}", ""]
        if directive == "autoclass":
            lines += ["   :members:", "   :inherited-members:", ""]
    return "\n".join(lines) + "\n"


def _resolve(qualified):
    module, _, name = qualified.rpartition(".")
    return getattr(importlib.import_module(module), name)


def add_unsorted(app, docname, source):
    if docname != API_DOC:
        return
    missing = [n for n in public_objects() if n not in listed_names(source[0])]
    if missing:
        # a warning, so that a build with -W (CI) fails until the names have
        # their line in a section; without -W they are documented anyway
        logger.warning(
            f"api_listing: public but not listed in docs/api/index.rst: {', '.join(missing)} "
            "(add each to the autosummary table of its section; documented under "
            "'Not yet sorted' meanwhile)", type="api_listing", subtype="unlisted",
            location=API_DOC)
        source[0] += unsorted_section(missing)


def skip_routing(app, what, name, obj, skip, options):
    if what == "class" and ROUTING.match(name):
        return True
    return None


def sklearn_refs_as_text(app, what, name, obj, options, lines):
    """scikit-learn's ``:ref:`label``` in an inherited docstring -> text."""
    if not (getattr(obj, "__module__", None) or "").startswith("sklearn"):
        return
    for i, line in enumerate(lines):
        lines[i] = SKLEARN_REF.sub(
            lambda m: f"*{(m.group(1) or m.group(3)).strip()}* (scikit-learn's user guide)",
            line)


def setup(app):
    app.connect("source-read", add_unsorted)
    app.connect("autodoc-skip-member", skip_routing)
    app.connect("autodoc-process-docstring", sklearn_refs_as_text)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
