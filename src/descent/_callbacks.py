"""scikit-learn's callback API (``sklearn.callback``, scikit-learn >= 1.9) over
an estimator's epochs.

The protocol, as scikit-learn's own supporting estimators follow it
(LogisticRegression's lbfgs, StandardScaler): the estimator mixes in
``CallbackSupportMixin`` (``set_callbacks``); its fit method runs inside
``callback_management_context`` (``sklearn.base._fit_context`` opens it,
and calls every callback's ``teardown`` however fit ends); once the data are
checked, ``_init_callback_context(max_subtasks=...)`` makes the root task
(merged with a meta-estimator's task when the estimator is a step of a
Pipeline or a candidate of a search) and calls ``setup``; the root task's
``on_fit_task_begin`` and ``on_fit_task_end`` hooks bracket the fit, each
iteration is a subtask with its own begin and end hooks, and an end hook
that returns True stops the iterations.

Here a task is ``fit`` (``max_subtasks=max_iter``), ``partial_fit`` (one
epoch) or ``fit_dask``, and each epoch is a subtask named ``"epoch"`` (in
``fit_dask``, with a subtask ``"block"`` per row block); its hooks get the
data given to fit and, as ``fitted_estimator``, a copy of the estimator
holding the model at the start and at the end of the epoch (what
ScoringMonitor scores). As in LogisticRegression, the epochs' subtasks are
made only when the estimator has callbacks of its own.
"""

from __future__ import annotations

import contextlib
from typing import Any

try:
    from sklearn.callback import CallbackSupportMixin
    from sklearn.callback._callback_support import callback_management_context
    HAVE_CALLBACKS = True
except ImportError:     # scikit-learn < 1.9: no callback API
    HAVE_CALLBACKS = False

    class CallbackSupportMixin:  # type: ignore[no-redef]
        """Without scikit-learn's callback API there is nothing to support."""

    def callback_management_context(estimator):
        return contextlib.nullcontext()

__all__ = ["HAVE_CALLBACKS", "CallbackSupportMixin", "EpochCallbacks",
           "callback_management_context"]


class EpochCallbacks:
    """The callback tasks of one training call: the root task and one subtask
    per epoch.

    Parameters
    ----------
    estimator : the estimator being fitted
    X, y, metadata : what the hooks receive (the data given to fit, and
        ``{"sample_weight": ...}`` or None)
    max_epochs : int
        The most epochs the call may run (the root's ``max_subtasks``).
    task_name : str
        ``"fit"`` or ``"partial_fit"``.
    """

    def __init__(self, estimator: Any, X: Any, y: Any, metadata: Any, max_epochs: int,
                 task_name: str = "fit"):
        self.estimator = estimator
        self.data = {"X": X, "y": y, "metadata": metadata}
        self.context: Any = None
        self.epoch_context: Any = None
        if not HAVE_CALLBACKS:
            return
        self.context = estimator._init_callback_context(task_name=task_name,
                                                        max_subtasks=max_epochs)
        self.context.call_on_fit_task_begin(estimator=estimator, **self.data)
        self.per_epoch = bool(getattr(estimator, "_skl_callbacks", None))

    @property
    def active(self) -> bool:
        """Whether the epochs are callback tasks (the estimator has callbacks)."""
        return self.context is not None and self.per_epoch

    def begin_epoch(self, model: Any, n_blocks: int = 0) -> None:
        """Begin an epoch's task; ``model()`` gives the fitted attributes of
        the model it starts from (called only if a hook asks for it). An
        epoch of ``fit_dask`` has ``n_blocks`` subtasks, one per row block,
        run in parallel on the workers (see ``end_block``)."""
        if not self.active:
            return
        self.epoch_context = self.context.subcontext(
            task_name="epoch", max_subtasks=n_blocks, sequential_subtasks=n_blocks == 0)
        self.epoch_context.call_on_fit_task_begin(
            estimator=self.estimator, reconstruction_attributes=model, **self.data)

    def end_block(self, index: int) -> None:
        """A row block's task of ``fit_dask``'s epoch has ended on its worker
        (``index``: the block's position in X). Its hooks get no data and no
        model: the block's model is one worker's part of the epoch, not a
        model of all the rows (ProgressBar advances; ScoringMonitor does not
        score it)."""
        if not self.active or self.epoch_context is None:
            return
        block = self.epoch_context.subcontext(task_name="block", task_id=index)
        block.call_on_fit_task_begin(estimator=self.estimator)
        block.call_on_fit_task_end(estimator=self.estimator)

    def end_epoch(self, model: Any) -> bool:
        """End the epoch's task; return whether a callback asks to stop."""
        if not self.active or self.epoch_context is None:
            return False
        context, self.epoch_context = self.epoch_context, None
        return bool(context.call_on_fit_task_end(
            estimator=self.estimator, reconstruction_attributes=model, **self.data))

    def end(self) -> None:
        """End the root task (the estimator is fitted)."""
        if self.context is not None:
            self.context.call_on_fit_task_end(estimator=self.estimator,
                                              reconstruction_attributes={}, **self.data)
