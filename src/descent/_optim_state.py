"""The step and the state_dict of an optimizer's parameter groups.

All groups are scanned (NaN, infinity, overflowing gradients, non-finite
parameters) before any is written, so a step that raises changes nothing:
one compiled call per group when there is one group, else one scanning call
and one updating call per group.
"""

from __future__ import annotations

import numpy as np

from ._optim_groups import LAYOUT, as_grad, check_param_array, check_step, state_as

__all__ = ["groups_state_dict", "load_groups_state_dict", "step_groups"]

_SCAN_ONLY, _UPDATE_ONLY = 1, 2
_REALS = (np.dtype(np.float64), np.dtype(np.float32))


def _split(opt, grads):
    """``grads`` cut into one list per group (checked against the count)."""
    groups = opt.__dict__.get("_groups")
    if not groups:
        raise ValueError(
            f"this {type(opt).__name__} has no parameters: give them to the constructor "
            f"({type(opt).__name__}([w, b], ...)) or to add_param_group, or call "
            "step(params, grad)")
    if not isinstance(grads, (list, tuple)):
        raise ValueError("step(grads) takes a list of gradients, one per parameter in "
                         f"the order of the groups, got {type(grads).__name__}")
    total = sum(len(g["params"]) for g in groups)
    if len(grads) != total:
        raise ValueError(f"step got {len(grads)} gradients for {total} parameters (one "
                         "per parameter, in the order of the groups; None skips one)")
    out, start = [], 0
    for group in groups:
        k = len(group["params"])
        out.append(list(grads[start:start + k]))
        start += k
    return groups, out


def _prepare(opt, index, group):
    """The group's compiled step and states (created at its first step)."""
    if group._kernel is None:
        group._kernel = opt._compile(group.values_for(opt._hyper_names()),
                                     f" (parameter group {index})")
    created = group._states is None
    if created:
        values = group.values_for(opt._hyper_names())
        group._states = [opt._init_state(p.size, values, p.dtype) for p in group["params"]]
    else:           # an array replaced by one of the other dtype: the state follows
        for i, (p, state) in enumerate(zip(group["params"], group._states)):
            if getattr(p, "dtype", state.dtype) != state.dtype and p.dtype in _REALS:
                group._states[i] = state_as(state, p.dtype,
                                            f"the state of parameter group {index}'s array {i}")
    return created


def _fix(code, i, params, grads, states):
    """Convert ``grads[i]`` (or raise the error of ``params[i]``) after the
    kernel refused the call with the layout ``code``."""
    p, where = params[i], f"params[{i}]"
    if check_param_array(p, where) is not p:
        raise ValueError(f"{where} is no longer a float64 or float32 ndarray")
    if p.size * 3 != states[i].size:
        raise ValueError(f"{where} changed size from {states[i].size // 3} to {p.size} "
                         "between steps; call reset() to start over")
    g = as_grad(grads[i], p, f"grads[{i}]: ")
    if any(np.may_share_memory(g, q) for q in params):
        g = g.copy()            # a view of a parameter updated before it is read
    grads[i] = g


def _run(opt, kernel, lr, params, grads, states, steps, mode, offset=0):
    """One kernel call; what it does not take as is is converted (each retry
    converts one more gradient); a bad value raises its error."""
    for _ in range(len(params) + 1):
        code = kernel.step(lr, params, grads, states, steps, mode)
        if code not in LAYOUT:
            break
        _fix(code, kernel.failed, params, grads, states)
    if code:
        opt._raise(code, f"grads[{offset + kernel.failed}]: ", params[kernel.failed].dtype)


def step_groups(opt, grads):
    """One step of every group of ``opt`` (see ``Optimizer.step``)."""
    groups = opt.__dict__.get("_groups")
    if groups and len(groups) == 1 and type(grads) in (list, tuple):
        # the common case in one compiled call, no checks beyond the kernel's
        group = groups[0]
        params = group["params"]
        if (group._kernel is not None and group._states is not None
                and len(grads) == len(params)):
            kernel, lr = group._kernel
            if not kernel.step(lr, params, list(grads), group._states, group._steps):
                opt._n_group_steps += 1
                return
    groups, per_group = _split(opt, grads)
    created = []
    try:
        for i, group in enumerate(groups):
            if _prepare(opt, i, group):
                created.append(group)
        if len(groups) == 1:
            group = groups[0]
            kernel, lr = group._kernel
            _run(opt, kernel, lr, group["params"], per_group[0], group._states,
                 group._steps, 0)
        else:
            # every array of every group scanned (and any gradient overlapping
            # any parameter copied) in one call, then one update per group
            params = [p for g in groups for p in g["params"]]
            states = [s for g in groups for s in g._states]
            flat = [x for gs in per_group for x in gs]
            first, lr = groups[0]._kernel
            _run(opt, first, lr, params, flat, states, np.zeros(len(params)), _SCAN_ONLY)
            # a group whose weight_decay is not the first's: its gradient
            # plus decay is held to the bound by its own kernel too
            start = 0
            for group in groups:
                k = len(group["params"])
                kernel, lr = group._kernel
                if kernel.wd != first.wd:
                    _run(opt, kernel, lr, group["params"], flat[start:start + k],
                         group._states, np.zeros(k), _SCAN_ONLY, offset=start)
                start += k
            start = 0
            for group in groups:
                k = len(group["params"])
                kernel, lr = group._kernel
                code = kernel.step(lr, group["params"], flat[start:start + k],
                                   group._states, group._steps, _UPDATE_ONLY)
                if code:        # the scan passed every array: not expected
                    opt._raise(code, f"grads[{start + kernel.failed}]: ")
                start += k
    except BaseException:
        for group in created:
            group._states = None
        raise
    opt._n_group_steps = opt.__dict__.get("_n_group_steps", 0) + 1


def groups_state_dict(opt):
    """``state_dict()`` of an optimizer with parameter groups."""
    names = [(row, name) for row, name in enumerate(opt._state_names) if name]
    param_groups, state, index = [], {}, 0
    for group in opt._groups:
        ids = list(range(index, index + len(group["params"])))
        param_groups.append({"params": ids, **group.own_options()})
        for i, p in enumerate(group["params"]):
            if group._states is not None and group._steps[i] > 0:
                entry = {"step": int(group._steps[i]), "shape": p.shape}
                entry.update({name: group._states[i][row].reshape(p.shape).copy()
                              for row, name in names})
                state[index + i] = entry
        index += len(ids)
    return {"params": opt.get_params(), "param_groups": param_groups, "state": state}


def _loaded_state(opt, entry, p, where):
    """The (3, n) state and step count of one array from its state entry."""
    shape = entry.get("shape")
    if shape is None or tuple(shape) != p.shape:
        raise ValueError(f"{where}['shape'] is {shape!r}, the parameter's shape is {p.shape}")
    step = check_step(entry.get("step"), f"{where}['step']")
    state = np.zeros((3, p.size), dtype=p.dtype)
    for row, name in enumerate(opt._state_names):
        if not name:
            continue
        if name not in entry:
            raise ValueError(f"{where} has no {name!r}")
        value = np.asarray(entry[name], dtype=np.float64)
        if value.shape not in (p.shape, (p.size,)):
            raise ValueError(f"{where}[{name!r}] has shape {value.shape}, the parameter "
                             f"has shape {p.shape}")
        if not np.isfinite(value).all():
            raise ValueError(f"{where}[{name!r}] contains NaN or infinity")
        state[row] = state_as(value.reshape(-1), p.dtype, f"{where}[{name!r}]")
    opt._check_state(state, where)
    return state, step


def load_groups_state_dict(opt, state_dict):
    """``load_state_dict`` of an optimizer with parameter groups: all is
    checked before anything is changed."""
    groups = opt.__dict__.get("_groups") or []
    saved = state_dict.get("param_groups")
    if not groups or saved is None or len(saved) != len(groups):
        raise ValueError(
            f"state_dict has {0 if saved is None else len(saved)} parameter groups, the "
            f"optimizer has {len(groups)}: load it into an optimizer built with the same "
            "groups")
    entries = state_dict.get("state") or {}
    plans, index = [], 0
    for gi, (group, sg) in enumerate(zip(groups, saved)):
        k = len(group["params"])
        if list(sg.get("params", ())) != list(range(index, index + k)):
            raise ValueError(f"state_dict['param_groups'][{gi}] holds parameters "
                             f"{sg.get('params')!r}, the optimizer's group {gi} holds "
                             f"{list(range(index, index + k))}")
        options = {key: v for key, v in sg.items() if key != "params"}
        unknown = sorted(set(options) - set(group._names))
        if unknown:
            # (torch.optim's state_dict holds its switches: maximize, foreach...)
            raise ValueError(
                f"state_dict['param_groups'][{gi}] holds {unknown}, not hyper-parameters "
                f"of {type(opt).__name__}: load a state_dict saved from a descent "
                f"{type(opt).__name__} (torch.optim's are not read)")
        states, steps = [], np.zeros(k)
        for i, p in enumerate(group["params"]):
            entry = entries.get(index + i)
            if entry is None:
                states.append(opt._init_state(p.size, group.values_for(opt._hyper_names())))
                continue
            state, steps[i] = _loaded_state(opt, entry, p, f"state_dict['state'][{index + i}]")
            states.append(state)
        plans.append((group, options, states, steps))
        index += k
    opt.set_params(**state_dict["params"])
    for group, options, states, steps in plans:
        for key in list(group.own_options()):
            del group[key]
        group.update(options)
        group._states, group._steps = states, steps
    opt._n_group_steps = int(max((s.max(initial=0) for *_, s in plans), default=0))
