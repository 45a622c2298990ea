"""Adam, AMSGrad and AdamW for descent.optim."""

from __future__ import annotations

from . import _kernels
from ._optim_base import Optimizer, _check_nonnegative, _rule_params
from ._optim_rules import _doc

__all__ = ["Adam", "AdamW"]


@_doc
class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) and AMSGrad (Reddi et al. 2018).

    torch.optim.Adam's update rule, applied in place to float64 or
    float32 arrays. With
    ``g`` the gradient of the parameters ``p`` plus ``weight_decay * p`` and
    ``t`` the step count (1 at the first step)::

        exp_avg = beta1 * exp_avg + (1 - beta1) * g
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g**2
        max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq)     # amsgrad
        v = max_exp_avg_sq if amsgrad else exp_avg_sq
        p = p - lr / (1 - beta1**t) * exp_avg / (sqrt(v / (1 - beta2**t)) + eps)

    ``eps`` is added after the bias-corrected square root; AMSGrad keeps the
    running maximum of the uncorrected second moment, as torch does (without
    AMSGrad the ``max_exp_avg_sq`` row of the state is left untouched).

    Parameters
    ----------
    {params}
    lr : float, default=1e-3
        Learning rate, finite and >= 0: each coordinate moves by at most about
        ``lr`` per step, in the units of the parameters, whatever the scale
        of its gradient.
    betas : tuple of (float, float), default=(0.9, 0.999)
        Decays ``(beta1, beta2)`` of the running averages of the gradient and
        of its square; each in [0, 1).
    eps : float, default=1e-8
        Added to the bias-corrected square root of the second moment, in the
        units of the gradient.
        {eps_rule}.
    weight_decay : float, default=0.0
        L2 penalty: ``weight_decay * p`` is added to the gradient (coupled,
        as torch.optim.Adam), or with ``decoupled_weight_decay`` a decay of
        the parameters; finite and >= 0.
    amsgrad : bool, default=False
        Divide by the running maximum of the second moment (AMSGrad) instead
        of the second moment.
    decoupled_weight_decay : bool, default=False
        Decouple the decay from the gradient: each step first multiplies the
        parameters by ``1 - lr * weight_decay``, the rule of :class:`AdamW`
        (torch.optim.Adam's switch of the same name; keyword-only).

    {attributes}

    {raises}

    {see_also}
    AdamW : Adam with decoupled weight decay (``decoupled_weight_decay=True``,
        torch's default ``weight_decay=1e-2``).

    Notes
    -----
    The rules that square the gradient refuse (``ValueError``) gradients of
    magnitude 1e150 or more, whose squares overflow float64 (1e15 or more
    for float32 parameters, whose state is float32).

    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic
       Optimization", ICLR 2015, arXiv:1412.6980.
    .. [2] S. J. Reddi, S. Kale and S. Kumar, "On the Convergence of Adam and
       Beyond", ICLR 2018.
    .. [3] PyTorch, torch.optim.Adam, {torch}.Adam.html

    Examples
    --------
    >>> import numpy as np
    >>> from descent.optim import Adam
    >>> w1, b1 = np.ones((2, 2)), np.zeros(2)
    >>> opt = Adam([{"params": [w1], "weight_decay": 1e-4},
    ...             {"params": [b1], "weight_decay": 0.0}], lr=0.1)
    >>> opt.step([np.ones((2, 2)), -np.ones(2)])
    >>> b1
    array([0.1, 0.1])
    """

    _rule = _kernels.Rule.ADAM
    _state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _max_grad = 1e150

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.0, amsgrad=False, *, decoupled_weight_decay=False):
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.amsgrad = amsgrad
        self.decoupled_weight_decay = decoupled_weight_decay
        self._attach(params)

    @classmethod
    def _check_values(cls, v):
        super()._check_values(v)
        try:
            beta1, beta2 = v["betas"]
        except (TypeError, ValueError):
            raise ValueError(
                f"betas must be a pair (beta1, beta2), got {v['betas']!r}") from None
        _check_nonnegative("betas[0]", beta1, upper=1.0)
        _check_nonnegative("betas[1]", beta2, upper=1.0)

    @classmethod
    def _kernel_params_of(cls, v):
        beta1, beta2 = v["betas"]
        rule = _kernels.Rule.ADAMW if v.get("decoupled_weight_decay") else cls._rule
        return _rule_params(rule, weight_decay=v["weight_decay"],
                            beta1=beta1, beta2=beta2, eps=v["eps"],
                            amsgrad=bool(v["amsgrad"]))


@_doc
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019).

    torch.optim.AdamW's update rule: ``p = p * (1 - lr * weight_decay)``, then
    the :class:`Adam` step of the gradient alone (the decay is not added to
    the gradient, so it is not divided by the second moment).

    Parameters
    ----------
    {params}
    lr : float, default=1e-3
        Learning rate, finite and >= 0: each coordinate moves by at most about
        ``lr`` per step, in the units of the parameters.
    betas : tuple of (float, float), default=(0.9, 0.999)
        Decays ``(beta1, beta2)`` of the running averages of the gradient and
        of its square; each in [0, 1).
    eps : float, default=1e-8
        Added to the bias-corrected square root of the second moment, in the
        units of the gradient.
        {eps_rule}.
    weight_decay : float, default=1e-2
        Decoupled weight decay: each step multiplies the parameters by
        ``1 - lr * weight_decay`` (a rate per unit of ``lr``); finite and
        >= 0.
    amsgrad : bool, default=False
        Divide by the running maximum of the second moment (AMSGrad) instead
        of the second moment.

    {attributes}

    {raises}

    {see_also}
    Adam : The same rule with the decay added to the gradient.

    Notes
    -----
    The rules that square the gradient refuse (``ValueError``) gradients of
    magnitude 1e150 or more, whose squares overflow float64 (1e15 or more
    for float32 parameters, whose state is float32).

    References
    ----------
    .. [1] I. Loshchilov and F. Hutter, "Decoupled Weight Decay
       Regularization", ICLR 2019, arXiv:1711.05101.
    .. [2] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic
       Optimization", ICLR 2015, arXiv:1412.6980.
    .. [3] PyTorch, torch.optim.AdamW, {torch}.AdamW.html

    Examples
    --------
    >>> import numpy as np
    >>> from descent.optim import AdamW
    >>> w = np.ones(1)
    >>> AdamW(lr=0.1, weight_decay=0.5).step(w, np.zeros(1))
    array([0.95])
    """

    _rule = _kernels.Rule.ADAMW

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=1e-2, amsgrad=False):
        # torch's AdamW is its Adam decoupled, without the switch to undo it
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, decoupled_weight_decay=True)
