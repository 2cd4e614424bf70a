"""Whole candidate models that calibration times: random draws of tfnas's own search spaces.

A kernel alone in its micro-model does not cost what it costs inside a
model: XNNPACK elides a flatten's copy, the previous op leaves the input in
cache, the delegate's per-op set-up is paid once per model. Calibration
therefore also times a few dozen whole models and fits, on them, what each
kernel group costs inside a model relative to alone (`tfnas.cost.latency.fit_in_model`).
Those models are the candidates a search proposes -- random draws of the
image space from 32 to 224 px (the phone-scale MobileNet ranges included)
and of the signal and spectrogram spaces -- so the correction is learned on
the structures it will be applied to. Draws are seeded from calibration's
own generator; `benchmarks/bench_latency.py` draws its held-out models with
other seeds.
"""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np

from tfnas.spaces import ImageSpace
from tfnas.spaces import SignalSpace
from tfnas.spaces import SpectrogramSpace

RESOLUTIONS = (32, 64, 96, 128, 160, 192, 224)
SIGNAL = (1024, 1)
SPECTROGRAM = (49, 10, 1)
MAX_ROUNDS = 12  # builds until no new conditional hyperparameter appears (a space nests at most a few levels)


def random_values(space: kt.HyperModel, rng: np.random.Generator) -> kt.HyperParameters:
    """One random draw of every active hyperparameter of a configured space, as RandomSearch makes it.

    Builds the space, draws a value for each hyperparameter it registered,
    and builds again until the values drawn switch on no new conditional one.
    """
    hp = kt.HyperParameters()
    drawn: set[str] = set()
    for _ in range(MAX_ROUNDS):
        space.build(hp)
        new = [p for p in hp.space if p.name not in drawn]
        if not new:
            break
        for p in new:
            hp.values[p.name] = p.random_sample(int(rng.integers(2**31)))
            drawn.add(p.name)
    return hp


def space_candidate(rng: np.random.Generator, attempts: int = 10) -> keras.Model:
    """A random candidate of the image (one of `RESOLUTIONS`), signal or spectrogram space, with 10 classes.

    A draw the space cannot build (a shape reduced below one pixel) is
    redrawn, up to `attempts` times.
    """
    pick = int(rng.integers(len(RESOLUTIONS) + 2))
    shape: tuple[int, ...]
    if pick < len(RESOLUTIONS):
        side = RESOLUTIONS[pick]
        space, shape = ImageSpace(), (side, side, 3)
    else:
        space, shape = (SignalSpace(), SIGNAL) if pick == len(RESOLUTIONS) else (SpectrogramSpace(), SPECTROGRAM)
    configured = space.configure(shape, 10, "classification")
    error: Exception | None = None
    for _ in range(attempts):
        try:
            return configured.build(random_values(configured, rng))
        except ValueError as e:  # an impossible draw; a search fails that trial and moves on
            error = e
    raise RuntimeError(f"no buildable draw of {type(space).__name__} at {shape} in {attempts} attempts: {error}")
