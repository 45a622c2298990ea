"""descent: linear models trained by gradient descent with compiled kernels.

- :class:`descent.SGDRegressor`, a drop-in for scikit-learn's, plus momentum,
  Nesterov, AdaGrad, RMSprop, Adadelta, Adam/AMSGrad and AdamW, mini-batch and
  full-batch modes, gradient clipping and a per-epoch ``loss_curve_``;
- :class:`descent.SGDClassifier`, the same for scikit-learn's classifier, with
  one-vs-rest from one read of each row and the multinomial (softmax) model;
- :mod:`descent.optim`, the same update rules stepping NumPy arrays in place
  with torch.optim's names, defaults and formulas;
- :func:`descent.minimize`, a ``scipy.optimize.minimize``-like driver for them;
- :mod:`descent.schedules`, learning-rate schedules with
  torch.optim.lr_scheduler's names, parameters and values;
- :func:`descent.lr_find`, the learning-rate range test (Smith 2017), and
  :class:`descent.LossCurveDisplay`, a fitted model's loss curve (both draw
  with matplotlib, the optional ``plot`` extra, imported only when drawing).
"""

from . import optim, schedules
from ._classifier import SGDClassifier
from ._config import show_config
from ._display import LossCurveDisplay
from ._lr_find import LRFindResult, lr_find
from ._minimize import minimize
from ._sgd import SGDRegressor

__all__ = ["LRFindResult", "LossCurveDisplay", "SGDClassifier", "SGDRegressor", "lr_find",
           "minimize", "optim", "schedules", "show_config"]
__version__ = "0.1.0"
