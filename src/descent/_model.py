"""The fitted linear model of descent's SGD estimators: the attributes a fit
publishes (``coef_``, ``intercept_``, scikit-learn's averaging parts), the
decision function read from them, sparsify/densify.

The public ``coef_`` and ``intercept_`` are the model: prediction reads them,
and a fit goes on from them (an assigned ``coef_`` is honoured, as in
scikit-learn). What a fit carries between calls (``_theta``, ``_avg``,
``_scaling``, ``t_``) is published here as those attributes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import FLOATS, check_csr, numeric_X

__all__ = ["LinearModel"]


class LinearModel:
    """The published model of an SGD estimator (a mixin, not public)."""

    # Set by the estimator (its parameter) and by the training call (BaseSGD).
    average: bool | int
    t_: float
    _theta: np.ndarray            # (K, d + 1) iterate in the fitted target space
    _avg: np.ndarray              # (K, d + 2) running average and its weight
    _multi_output: bool
    _scaling: Any                 # descent._scaling.TargetScaling

    # -- public methods shared ------------------------------------------------
    def sparsify(self):
        """Store ``coef_`` as a scipy.sparse CSR matrix.

        Worth it when most coefficients are 0 (e.g. with an L1 penalty): the
        matrix holds the non-zeros only. ``predict`` and further training
        work with it; ``intercept_`` is unchanged.

        Returns
        -------
        self : object
            The estimator, its ``coef_`` in CSR of ``coef_``'s shape, as
            scikit-learn's: (n_features,) for one regression target,
            (n_outputs, n_features) or (n_classes or 1, n_features); a
            ``csr_matrix``, or a ``csr_array`` under
            ``sklearn.set_config(sparse_interface="sparray")``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator has no ``coef_``.

        See Also
        --------
        densify : Back to a dense ``coef_``.

        Examples
        --------
        >>> import numpy as np
        >>> import descent
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((200, 20))
        >>> y = X[:, 0] - X[:, 1]                     # 2 of 20 features matter
        >>> model = descent.SGDRegressor(penalty="l1", alpha=0.05, optimizer="adam",
        ...                              random_state=0).fit(X, y)
        >>> model.sparsify().coef_.nnz < 20
        True
        >>> model.predict(X[:2]).shape
        (2,)
        """
        check_is_fitted(self, "coef_")
        coef = sp.csr_array(self.coef_)
        self.coef_ = coef if get_config()["sparse_interface"] == "sparray" else \
            sp.csr_matrix(coef)
        return self

    def densify(self):
        """Store ``coef_`` as a dense NumPy array again (the default).

        Undoes :meth:`sparsify`; no effect on a dense ``coef_``.

        Returns
        -------
        self : object
            The estimator, its ``coef_`` an ndarray of the shape a fit gives.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator has no ``coef_``.

        See Also
        --------
        sparsify : Store ``coef_`` as a sparse matrix.

        Examples
        --------
        >>> import numpy as np
        >>> import descent
        >>> X = np.random.default_rng(0).standard_normal((100, 3))
        >>> model = descent.SGDRegressor(random_state=0).fit(X, X[:, 0]).sparsify()
        >>> type(model.densify().coef_).__name__, model.coef_.shape
        ('ndarray', (3,))
        """
        check_is_fitted(self, "coef_")
        if sp.issparse(self.coef_):
            dense = self.coef_.toarray()
            self.coef_ = dense if self._coef_is_2d() else dense.ravel()
        return self

    def _decision(self, X):
        """X @ coef_.T + intercept_, from the public attributes."""
        check_is_fitted(self, "coef_")
        # (a malformed CSR structure raises, as in fit: SciPy's product reads
        # its indices unchecked, out of range a wrong answer or a crash)
        X = check_csr(validate_data(self, numeric_X(X), accept_sparse="csr", dtype=FLOATS,
                                    reset=False))
        coef, intercept = self._public_model()
        # scikit-learn's dtype: X @ coef_.T + intercept_ promoted as NumPy
        # does, so a float64 model (or intercept_) keeps its digits on
        # float32 X (rounding the output to float32 took R^2 1.0 to 0.61 for
        # targets near 1e8, measured)
        dtype = np.result_type(X.dtype, getattr(self.coef_, "dtype", np.float64),
                               getattr(self.intercept_, "dtype", np.float64))
        coef, intercept = coef.astype(dtype, copy=False), intercept.astype(dtype, copy=False)
        if X.shape[1] != coef.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features, but the model has "
                             f"{coef.shape[1]} coefficients per target")
        out = np.asarray(X @ coef.T) + intercept
        return out if self._coef_is_2d() else out[:, 0]

    def _coef_is_2d(self):
        """Whether the model has several targets (coef_ 2-D), also for a
        coef_ assigned to an estimator that was never fitted."""
        if hasattr(self, "_multi_output"):
            return self._multi_output
        if sp.issparse(self.coef_):
            return self.coef_.ndim == 2 and self.coef_.shape[0] > 1
        return np.ndim(self.coef_) == 2

    def _public_model(self):
        """(coef (K, d) dense, intercept (K,)) as published or assigned."""
        coef = self.coef_.toarray() if sp.issparse(self.coef_) else np.asarray(
            self.coef_, dtype=np.float64)
        coef = np.atleast_2d(coef)
        intercept = np.broadcast_to(np.asarray(self.intercept_, dtype=np.float64).ravel(),
                                    (coef.shape[0],))
        return coef, intercept

    # scikit-learn's names for the state of averaging (present only with it)
    @property
    def _standard_coef(self):
        return self._averaging_part(0)[0]

    @property
    def _standard_intercept(self):
        return self._averaging_part(0)[1]

    @property
    def _average_coef(self):
        return self._averaging_part(1)[0]

    @property
    def _average_intercept(self):
        return self._averaging_part(1)[1]

    def _averaging_part(self, which):
        if not self.average or not hasattr(self, "_theta"):
            raise AttributeError("only an averaged model has its standard and average parts")
        model = self._scaling.decode(self._theta if which == 0 else self._avg[:, :-1])
        coef = model[:, :-1] if self._multi_output else model[0, :-1]
        return coef, model[:, -1]

    # -- publishing the state ------------------------------------------------
    def _averaging(self, t):
        """Whether the published model is the running average at update count t."""
        return bool(self.average) and self.average <= t - 1.0

    def _published_model(self, t):
        """(coef_, intercept_) of the state at update count t (averaged if
        on), in the targets' unit and X's dtype (a single intercept in
        float64): new arrays."""
        averaged = self._averaging(t)
        theta = self._avg[:, :-1] if averaged else self._theta
        dtype = getattr(self, "_dtype", np.float64)
        coef, intercept = self._scaling.decode_parts(theta)
        # scikit-learn keeps a single target's intercept_ in float64 when X
        # is float32 (the regressor's, a binary classifier's), several
        # targets' in X's dtype, and a binary classifier's averaged one in
        # X's dtype too (its average is stored in X's dtype)
        coef = coef.astype(dtype, copy=False)
        single = theta.shape[0] == 1 and not (averaged and is_classifier(self))
        intercept = intercept.astype(np.float64 if single else dtype, copy=False)
        return (coef if self._multi_output else coef.reshape(-1)), intercept

    def _publish(self):
        """coef_ / intercept_ from the state; remembered to notice later
        assignments."""
        coef, intercept = self._published_model(self.t_)
        published = (np.atleast_2d(coef).copy(), intercept.copy())
        self.coef_, self.intercept_ = coef, intercept
        self._published = published

    def _fitted_attributes(self, ws):
        """What a copy of the estimator needs to predict with the model a
        running Workspace holds (the callbacks' ``fitted_estimator``)."""
        coef, intercept = self._published_model(ws.t)
        return {"coef_": coef, "intercept_": intercept, "n_iter_": ws.n_epochs,
                "t_": ws.t}
