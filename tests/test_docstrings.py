"""Every public docstring: numpydoc's validation, and its examples run.

Public means what a user reaches: the classes and functions in the
``__all__`` of ``descent``, ``descent.optim`` and ``descent.schedules``,
``descent.dask.fit_dask``, and the public methods and properties of those
classes that descent defines (in the class or in one of descent's own base
classes). Methods inherited from scikit-learn and not overridden
(``get_params``, ``set_params``, ``score``, ``set_fit_request``...) and dict's
methods that ``ParamGroup`` does not override carry their library's
docstring and are not checked. A method that several public classes inherit
from one of descent's base classes is checked once, under the first public
class that has it.

numpydoc's validation (``numpydoc.validate.validate``) reports codes; a
docstring fails on any code of ``CHECKED`` below. Left out, on purpose:

- ES01 (no extended summary): a short function needs no second paragraph.
- SA01 (no See Also section): not every method has a sensible neighbour
  (``ParamGroup.pop``...); the classes and main functions have one.
- RT02 (the Returns line names the value): scikit-learn's idiom
  ``self : object`` names it, and descent follows scikit-learn.

Properties are documented as attributes: their docstring is checked for the
summary and general codes, not for Parameters, Returns or Examples.

numpydoc comes with the ``docs`` extra: it needs Sphinx, whose docutils
``.ci/run`` keeps out of the machine's Python. So ``.ci/run`` runs the
validation test in the documentation venv (where a missing numpydoc fails,
as CI is set) and deselects it (``-k "not numpydoc"``) in the main run;
elsewhere, without numpydoc, it skips. The examples need no numpydoc and run
everywhere.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import re
import types
import warnings

import numpy as np
import pytest

from _require import require

# The codes that fail the test (numpydoc.validate.ERROR_MSGS has the texts).
CHECKED = {
    # general: a docstring exists, its layout and sections are numpydoc's
    "GL01", "GL02", "GL03", "GL05", "GL06", "GL07", "GL08", "GL09", "GL10",
    # summary: present, capitalised, ends with a period, no leading
    # whitespace, an infinitive rather than a third person, one line
    "SS01", "SS02", "SS03", "SS04", "SS05", "SS06",
    # parameters: every one documented (PR01), none unknown (PR02), in the
    # signature's order (PR03), each with a type (PR04) written as numpydoc
    # asks (PR05, PR06, PR10) and a description (PR07) that is a sentence
    # (PR08, PR09)
    "PR01", "PR02", "PR03", "PR04", "PR05", "PR06", "PR07", "PR08", "PR09", "PR10",
    # returns: a Returns section wherever a value is returned (RT01), with a
    # description (RT03) that is a sentence (RT04, RT05); yields (YD01)
    "RT01", "RT03", "RT04", "RT05", "YD01",
    # See Also entries, where there are some: described in sentences
    "SA02", "SA03", "SA04",
    # an Examples section
    "EX01",
}
# A property is an attribute: no Parameters, Returns or Examples of its own.
NOT_FOR_PROPERTIES = {"EX01", "PR01", "PR02", "RT01", "RT03"}

PUBLIC_MODULES = ("descent", "descent.optim", "descent.schedules")
EXTRA_FUNCTIONS = ("descent.dask.fit_dask",)


def _is_descents(cls):
    return cls.__module__ == "descent" or cls.__module__.startswith("descent.")


def public_names():
    """(qualified name, object, is_property) of every public class, function,
    method and property, each defined object once."""
    found = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isroutine(obj):
                found.append((f"{module_name}.{name}", obj))
    for qualified in EXTRA_FUNCTIONS:
        module_name, _, name = qualified.rpartition(".")
        found.append((qualified, getattr(importlib.import_module(module_name), name)))

    out, seen = [], set()
    for qualified, obj in found:
        out.append((qualified, obj, False))
        if not inspect.isclass(obj):
            continue
        for name in sorted(dir(obj)):
            if name.startswith("_"):
                continue
            owner = next((k for k in obj.__mro__ if name in vars(k)), None)
            if owner is None or not _is_descents(owner):
                continue        # scikit-learn's, dict's, object's
            raw = vars(owner)[name]
            if isinstance(raw, (classmethod, staticmethod)):
                raw = raw.__func__
            if isinstance(getattr(raw, "fn", None), types.FunctionType):
                raw = raw.fn    # scikit-learn's available_if (predict_proba)
            if not isinstance(raw, (types.FunctionType, property)):
                continue        # class attributes (unit = "epoch"...)
            if id(raw) in seen:
                continue
            seen.add(id(raw))
            out.append((f"{qualified}.{name}", raw, isinstance(raw, property)))
    return out


PUBLIC = public_names()


def _ids(entries):
    return [entry[0] for entry in entries]


def test_the_walk_finds_what_it_should():
    names = set(_ids(PUBLIC))
    # a sample of each kind: classes, functions, methods, properties, the
    # dask function, and a method of a shared base class (once)
    for expected in ("descent.SGDRegressor", "descent.SGDClassifier", "descent.minimize",
                     "descent.lr_find", "descent.LRFindResult.plot",
                     "descent.LossCurveDisplay.from_estimator",
                     "descent.SGDRegressor.predict", "descent.SGDClassifier.predict_proba",
                     "descent.optim.Adam", "descent.optim.Optimizer.step",
                     "descent.optim.Optimizer.n_steps", "descent.optim.ParamGroup.pop",
                     "descent.schedules.LRSchedule.lr", "descent.dask.fit_dask"):
        assert expected in names
    assert not any(n.endswith((".get_params", ".set_params", ".score", "_request"))
                   for n in names)
    assert "descent.optim.Adam.step" not in names          # checked as Optimizer.step


@pytest.mark.parametrize(("name", "obj", "is_property"), PUBLIC, ids=_ids(PUBLIC))
def test_numpydoc_validation(name, obj, is_property):
    validate = require("numpydoc.validate").validate
    codes = CHECKED - NOT_FOR_PROPERTIES if is_property else CHECKED
    errors = [f"{code}: {message}" for code, message in validate(name)["errors"]
              if code in codes]
    assert not errors, f"{name}:\n  " + "\n  ".join(errors)


# -- the examples ---------------------------------------------------------------
# Each public docstring's examples (and those of the public modules) run as
# doctests, warnings as errors: an example must not warn where a user copies
# it. They also run in the documentation's doctest build (docs/conf.py), with
# NumPy's print options set to 4 digits: examples print rounded values, so
# both agree.

EXAMPLE_MODULES = ("descent", "descent.optim", "descent.schedules", "descent.dask")
WITH_EXAMPLES = [(name, obj) for name, obj, _ in PUBLIC] + [
    (name, importlib.import_module(name)) for name in EXAMPLE_MODULES]


def _doctests(name, obj):
    finder = doctest.DocTestFinder(recurse=False)
    return [t for t in finder.find(obj, name, module=False, globs={}) if t.examples]


@pytest.mark.parametrize(("name", "obj"), WITH_EXAMPLES, ids=_ids(WITH_EXAMPLES))
def test_docstring_examples(name, obj):
    tests = _doctests(name, obj)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    printoptions = np.get_printoptions()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for test in tests:
                runner.run(test)
    finally:
        np.set_printoptions(**printoptions)
    assert runner.failures == 0, f"{runner.failures} example(s) of {name} failed (above)"


def test_the_optimizers_document_the_eps_rule():
    # help(descent.optim.Adam) must say what eps allows, not only the README
    from descent import optim

    for cls in (optim.Adagrad, optim.RMSprop, optim.Adadelta, optim.Adam, optim.AdamW):
        match = re.search(r"\n    eps : float, default=\S+\n((?:        .*\n)+)", cls.__doc__)
        assert match and "1e-300" in match.group(1), cls.__name__


# The paper or library each algorithm follows, in the References section of
# the class or function that runs it.
REFERENCES = {
    "descent.optim.SGD": ["Sutskever", "torch.optim.SGD"],
    "descent.optim.Adagrad": ["Duchi", "torch.optim.Adagrad"],
    "descent.optim.RMSprop": ["Tieleman", "torch.optim.RMSprop"],
    "descent.optim.Adadelta": ["Zeiler", "torch.optim.Adadelta"],
    "descent.optim.Adam": ["Kingma", "Reddi", "torch.optim.Adam"],
    "descent.optim.AdamW": ["Loshchilov", "torch.optim.AdamW"],
    "descent.schedules.LRSchedule": ["pytorch.org"],
    "descent.schedules.CosineAnnealingLR": ["Loshchilov"],
    "descent.schedules.OneCycleLR": ["Smith"],
    "descent.lr_find": ["Smith", "Cyclical Learning Rates"],
    "descent.dask.fit_dask": ["McDonald", "Zinkevich"],
    "descent.SGDRegressor": ["Bottou", "Tsuruoka", "Niu", "Polyak", "torch.optim"],
    "descent.SGDClassifier": ["Bottou", "Tsuruoka", "Niu", "Zadrozny"],
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_references(name):
    module_name, _, attr = name.rpartition(".")
    doc = getattr(importlib.import_module(module_name), attr).__doc__
    assert "References\n" in doc, name
    references = doc[doc.index("References\n"):]
    references = references[:references.index("Examples\n")] \
        if "Examples\n" in references else references
    for needle in REFERENCES[name]:
        assert needle in references, f"{name}: no {needle!r} in its References"
