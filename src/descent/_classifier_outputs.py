"""What a fitted ``descent.SGDClassifier`` computes from rows: decision
values, labels and (for the losses that have them) probabilities. The model
(``coef_``, ``intercept_``, ``classes_``) comes from the estimator; the
probability formulas live in ``_labels``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.utils._available_if import available_if

from . import _labels
from ._losses import LOSSES

__all__ = ["ClassifierOutputs"]


class ClassifierOutputs:
    """The prediction methods of SGDClassifier (a mixin: the estimator gives
    ``_decision``, ``classes_``, ``loss`` and ``multi_class``)."""

    # what the estimator provides (declared for the type checker only)
    classes_: np.ndarray
    loss: str
    multi_class: str
    _decision: Callable[[Any], np.ndarray]

    def decision_function(self, X):
        """Compute the decision values ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows to score, with the features of the fit.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            1-D with two classes (positive: ``classes_[1]``), else one column
            per class; float32 where X, ``coef_`` and ``intercept_`` all are
            (a float32 fit of three classes or more, or a binary one averaged,
            as scikit-learn's), else float64.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        ValueError
            If X has another number of features than the model, or NaN or
            infinity.

        See Also
        --------
        predict : The class of the largest decision value.
        predict_proba : Probabilities, for ``"log_loss"`` and ``"modified_huber"``.

        Examples
        --------
        >>> import numpy as np
        >>> import descent
        >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
        >>> clf = descent.SGDClassifier(random_state=0).fit(X, [0, 0, 1, 1])
        >>> clf.decision_function(X).shape, bool(clf.decision_function([[3.0]])[0] > 0)
        ((4,), True)
        """
        scores = self._decision(X)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Predict the class of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows to classify, with the features of the fit.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            ``classes_[1]`` where the decision value is > 0 (two classes),
            else the class of the largest decision value (the first if tied);
            of the dtype of ``classes_``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        ValueError
            If X has another number of features than the model, or NaN or
            infinity.

        See Also
        --------
        decision_function : The decision values behind the prediction.
        predict_proba : Probabilities, for ``"log_loss"`` and ``"modified_huber"``.

        Examples
        --------
        >>> import numpy as np
        >>> import descent
        >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
        >>> clf = descent.SGDClassifier(random_state=0).fit(X, ["low", "low", "high", "high"])
        >>> clf.predict([[-3.0], [3.0]])
        array(['low', 'high'], dtype='<U4')
        """
        scores = self.decision_function(X)
        index = (scores > 0).astype(np.intp) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]

    def _has_probabilities(self):
        if not LOSSES[self.loss].probabilities:
            raise AttributeError(
                f"probability estimates are not available for loss={self.loss!r} "
                "(only for 'log_loss' and 'modified_huber')")
        return True

    @available_if(_has_probabilities)
    def predict_proba(self, X):
        """Estimate the class probabilities (``log_loss`` and ``modified_huber`` only).

        ``log_loss``: the logistic function of the decision values (one-vs-rest:
        normalised to sum to 1, as scikit-learn); with
        ``multi_class="multinomial"``, their softmax. ``modified_huber``:
        ``(clip(decision, -1, 1) + 1) / 2``, normalised (scikit-learn's; equal
        probabilities where every class scores -1 or less). For the other
        losses the method does not exist (``hasattr`` is False).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows, with the features of the fit.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The probabilities, in the dtype of the decision values (float32
            for a float32 model of three classes or more, or a binary one
            averaged, as scikit-learn's; else float64; a binary
            ``modified_huber`` model's always float64, as scikit-learn's;
            computed in float64); rows sum to 1; columns in the order of
            ``classes_``.

        Raises
        ------
        AttributeError
            If ``loss`` is not ``"log_loss"`` or ``"modified_huber"``.
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.

        See Also
        --------
        predict_log_proba : Their logarithm, without underflow.

        Examples
        --------
        >>> import numpy as np
        >>> import descent
        >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
        >>> clf = descent.SGDClassifier(loss="log_loss", alpha=0.1, random_state=0)
        >>> proba = clf.fit(X, [0, 0, 1, 1]).predict_proba([[-3.0], [0.0], [3.0]])
        >>> proba.shape, bool(proba[0, 0] > 0.5 > proba[2, 0]), proba.sum(axis=1).round(6)
        ((3, 2), True, array([1., 1., 1.]))
        """
        return self._in_scores_dtype(_labels.probabilities, X)

    @available_if(_has_probabilities)
    def predict_log_proba(self, X):
        """Compute the logarithm of :meth:`predict_proba`.

        For ``log_loss`` it is computed without underflow (log-sum-exp forms):
        finite for any finite decision value, where ``log(predict_proba(X))``
        gives ``-inf`` once a probability underflows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows, with the features of the fit.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The log-probabilities, in :meth:`predict_proba`'s dtype, columns
            in the order of ``classes_``.

        Raises
        ------
        AttributeError
            If ``loss`` is not ``"log_loss"`` or ``"modified_huber"``.
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.

        See Also
        --------
        predict_proba : The probabilities.

        Examples
        --------
        >>> import numpy as np
        >>> import descent
        >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
        >>> clf = descent.SGDClassifier(loss="log_loss", alpha=0.1, random_state=0)
        >>> log_proba = clf.fit(X, [0, 0, 1, 1]).predict_log_proba([[-1e4], [1e4]])
        >>> bool(np.isfinite(log_proba).all())
        True
        """
        return self._in_scores_dtype(_labels.log_probabilities, X)

    def _in_scores_dtype(self, transform, X):
        """``transform`` (_labels.probabilities or log_probabilities) of X's
        decision values: computed in float64, returned in their dtype, as
        scikit-learn's."""
        scores = self.decision_function(X)
        # (scikit-learn writes a binary modified_huber model's two columns
        # into a new float64 array, whatever the scores' dtype)
        binary_huber = self.loss == "modified_huber" and scores.ndim == 1
        return transform(self.loss, scores.astype(np.float64),
                         self.multi_class == "multinomial").astype(
                             np.float64 if binary_huber else scores.dtype, copy=False)
