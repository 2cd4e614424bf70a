"""Hyperparameter draws for tests: the whole space registered, and random values the way keras-tuner draws them."""

from __future__ import annotations

import copy

import keras_tuner as kt


def register(space: kt.HyperModel) -> kt.HyperParameters:
    """Every hp of the space, conditional ones included, the way keras-tuner's tuner finds them.

    One build registers only the hps its values make active (a `FamilySpace`
    registers one family); like `BaseTuner._activate_all_conditions`, this
    builds again with each never-active scope switched on until none is left.
    """
    registered = kt.HyperParameters()
    once_active: list = []
    never_active: list = []
    hp = kt.HyperParameters()
    while True:
        space.build(hp)
        registered.merge(hp.space, overwrite=False)
        for conditions in hp.active_scopes:
            if conditions not in once_active:
                once_active.append(copy.deepcopy(conditions))
            if conditions in never_active:
                never_active.remove(conditions)
        for conditions in hp.inactive_scopes:
            if conditions not in once_active and conditions not in never_active:
                never_active.append(copy.deepcopy(conditions))
        if not never_active:
            break
        hp = registered.copy()
        hp.values = {}
        for condition in never_active[0]:
            hp.values[condition.name] = condition.values[0]
        hp.ensure_active_values()
    registered.values = {}
    registered.ensure_active_values()
    return registered


def random_hps(space: kt.HyperModel, seed: int) -> kt.HyperParameters:
    """One random draw, the way keras-tuner's RandomSearchOracle makes it.

    Walks the registered space in order and samples only hps whose conditions
    hold for the values drawn so far (inactive ones get no value).
    """
    registered = register(space)
    hps = kt.HyperParameters()
    for i, hp in enumerate(registered.space):
        hps.merge([hp])
        if hps.is_active(hp):
            hps.values[hp.name] = hp.random_sample(seed * 1009 + i)
    return hps


def random_draws(space: kt.HyperModel, count: int, seed: int = 0) -> list[kt.HyperParameters]:
    """`count` random draws like `random_hps(space, seed + i)`, registering the space only once (faster)."""
    registered = register(space)
    draws = []
    for n in range(seed, seed + count):
        hps = kt.HyperParameters()
        for i, hp in enumerate(registered.space):
            hps.merge([hp])
            if hps.is_active(hp):
                hps.values[hp.name] = hp.random_sample(n * 1009 + i)
        draws.append(hps)
    return draws
