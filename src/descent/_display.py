"""Pictures: :class:`LossCurveDisplay` (scikit-learn's ``*Display`` style) and
the plot of :class:`descent.LRFindResult`.

matplotlib is an optional dependency (``pip install "descent[plot]"``): it is
imported when something is drawn, never when descent is imported.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["LossCurveDisplay"]


def _pyplot(what):
    """matplotlib.pyplot, or an ImportError that says how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(f"{what} needs matplotlib: pip install matplotlib, or "
                          "pip install \"descent[plot]\"") from exc
    return plt


def _axes(ax, what):
    """``ax``, or the axes of a new figure."""
    plt = _pyplot(what)
    if ax is None:
        _, ax = plt.subplots()
    return ax


class LossCurveDisplay:
    """The loss curve of a fitted :class:`descent.SGDRegressor`.

    The training objective of each epoch (``loss_curve_``) and, when the fit
    used early stopping, the mean loss on the validation split
    (``validation_loss_curve_``), on the same axes: both are mean weighted
    losses in the targets' units (the training objective adds the penalty),
    so the gap between the two lines is the overfitting. Create it with
    :meth:`from_estimator`; scikit-learn's display API (``plot`` returns the
    display, the artists are attributes).

    Needs matplotlib (``pip install "descent[plot]"``).

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        The training objective of each epoch.
    validation_loss_curve : array-like of shape (n_epochs,), default=None
        The validation loss of each epoch, if any.
    name : str, default=None
        The model's name, for the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The training objective.
    validation_line_ : matplotlib Line2D or None
        The validation loss (None without one).
    ax_ : matplotlib Axes
        The axes drawn on.
    figure_ : matplotlib Figure
        Their figure.

    See Also
    --------
    lr_find : The learning-rate range test, whose result also plots.
    sklearn.model_selection.LearningCurveDisplay : Scores against training size.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_diabetes
    >>> import descent
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = (X - X.mean(0)) / X.std(0)
    >>> est = descent.SGDRegressor(optimizer="adam", early_stopping=True,
    ...                            random_state=0).fit(X, y)
    >>> display = descent.LossCurveDisplay.from_estimator(est)
    >>> display.ax_.get_xlabel(), len(display.line_.get_ydata()) == est.n_iter_
    ('epoch', True)
    """

    def __init__(self, *, loss_curve, validation_loss_curve=None, name=None):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.name = name

    def plot(self, ax=None, *, name=None, line_kwargs=None, validation_line_kwargs=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure's axes if None. Draw several models
            on one axes by passing it to each.
        name : str, default=None
            The model's name in the legend; ``self.name`` if None.
        line_kwargs : dict, default=None
            Keyword arguments of ``ax.plot`` for the training objective.
        validation_line_kwargs : dict, default=None
            The same for the validation loss (drawn dashed, in the training
            line's colour, by default).

        Returns
        -------
        display : LossCurveDisplay
            ``self``, with ``line_``, ``validation_line_``, ``ax_``, ``figure_``.

        Raises
        ------
        ImportError
            If matplotlib is not installed.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import descent
        >>> display = descent.LossCurveDisplay(loss_curve=[1.0, 0.5, 0.4],
        ...                                    validation_loss_curve=[1.1, 0.6, 0.6],
        ...                                    name="adam").plot()
        >>> [line.get_label() for line in display.ax_.get_lines()]
        ['adam: training', 'adam: validation']
        """
        ax = _axes(ax, "LossCurveDisplay.plot")
        name = self.name if name is None else name
        curve = np.asarray(self.loss_curve, dtype=float)
        validation = np.asarray(self.validation_loss_curve if self.validation_loss_curve
                                is not None else [], dtype=float)
        has_validation = len(validation) > 0
        if has_validation:
            label = f"{name}: training" if name else "training objective"
        else:
            label = name or "training objective"
        epochs = np.arange(1, len(curve) + 1)
        (self.line_,) = ax.plot(epochs, curve, **{"label": label, **(line_kwargs or {})})
        self.validation_line_ = None
        if has_validation:
            style = {"label": f"{name}: validation" if name else "validation loss",
                     "linestyle": "--", "color": self.line_.get_color()}
            (self.validation_line_,) = ax.plot(np.arange(1, len(validation) + 1), validation,
                                               **{**style, **(validation_line_kwargs or {})})
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, line_kwargs=None,
                       validation_line_kwargs=None):
        """Draw a fitted estimator's loss curve in one call.

        The estimator's ``loss_curve_``, and its ``validation_loss_curve_``
        when it has one (a fit with ``early_stopping=True``).

        Parameters
        ----------
        estimator : fitted estimator with ``loss_curve_``
            A fitted :class:`descent.SGDRegressor` (or scikit-learn's
            ``MLPRegressor``, which has ``loss_curve_`` too).
        ax : matplotlib Axes, default=None
            Where to draw; a new figure's axes if None.
        name : str, default=None
            The model's name in the legend.
        line_kwargs : dict, default=None
            Keyword arguments of ``ax.plot`` for the training objective.
        validation_line_kwargs : dict, default=None
            The same for the validation loss.

        Returns
        -------
        display : LossCurveDisplay
            With ``line_``, ``validation_line_``, ``ax_``, ``figure_``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator has no ``loss_curve_``.
        ImportError
            If matplotlib is not installed.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> from sklearn.datasets import load_diabetes
        >>> import descent
        >>> X, y = load_diabetes(return_X_y=True)
        >>> X = (X - X.mean(0)) / X.std(0)
        >>> fig, ax = plt.subplots()
        >>> for name in ("sgd", "adam"):                 # two models on one axes
        ...     est = descent.SGDRegressor(optimizer=name, random_state=0).fit(X, y)
        ...     _ = descent.LossCurveDisplay.from_estimator(est, ax=ax, name=name)
        >>> [line.get_label() for line in ax.get_lines()]
        ['sgd', 'adam']
        """
        _pyplot(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator, "loss_curve_")
        display = cls(loss_curve=estimator.loss_curve_,
                      validation_loss_curve=getattr(estimator, "validation_loss_curve_", None),
                      name=name)
        return display.plot(ax, line_kwargs=line_kwargs,
                            validation_line_kwargs=validation_line_kwargs)


def plot_lr_find(result, ax=None):
    """LRFindResult.plot: the raw objective (thin), the smoothed one (bold),
    the minimum and the suggestion (vertical lines); the y range clipped to
    what comes before the blow-up."""
    ax = _axes(ax, "LRFindResult.plot")
    (raw,) = ax.plot(result.lrs, result.losses, linewidth=0.8, alpha=0.45,
                     label="objective after each step size")
    ax.plot(result.lrs, result.smoothed_losses, linewidth=2, color=raw.get_color(),
            label="smoothed")
    ax.axvline(result.lr_min, color="0.5", linestyle=":",
               label=f"minimum: {result.lr_min:.3g}")
    ax.axvline(result.suggested_eta0, color="C3", linestyle="--",
               label=f"suggested eta0 = minimum / 10: {result.suggested_eta0:.3g}")
    ax.set_xscale("log")
    i_min = int(np.argmin(result.smoothed_losses))
    low = float(np.min(result.losses))
    high = float(np.max(result.smoothed_losses[:i_min + 1]))
    margin = 0.1 * (high - low) or 0.1 * abs(high) or 1.0
    ax.set_ylim(low - margin, high + 3 * margin)
    ax.set_xlabel("learning rate (eta0)")
    ax.set_ylabel("training objective")
    ax.legend()
    return ax
