"""Extracting a sub-network of a supernet as a standalone Keras 3 model of ordinary layers.

The model is built by the space's own `build(hp)` from the sub-network's hp
values, so it is exactly a candidate the search could have trained: the cost
model profiles it, the constraints are checked on it, and it compresses and
exports like any other. The supernet's shared weights are then sliced in (OFA
style: first channels, centre of kernels, first entries of the batch-norm
statistics), and batch norm is optionally re-estimated on a few hundred
training samples, since a sub-network's activations no longer match the
statistics the shared layers gathered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import keras_tuner as kt

from tfnas.errors import TfnasError
from tfnas.oneshot.base_supernet import BaseSupernet
from tfnas.oneshot.family import BaseSubnet
from tfnas.training import recalibrate_batchnorm


def extract(supernet: BaseSupernet, values: Mapping[str, Any] | BaseSubnet, x_calibration: Any = None) -> keras.Model:
    """Builds the standalone model of a sub-network, with the supernet's weights sliced in.

    Example:
        ```python
        model = extract(supernet, {"num_blocks": 2, "block1_filters": 16}, x_train[:500])
        model.evaluate(x_val, y_val)
        ```

    Args:
        supernet: The trained supernet.
        values: The sub-network, as the space's hp values (missing ones take
            their defaults), or a resolved sub-network (`supernet.resolve(values)`).
        x_calibration: Samples to re-estimate every BatchNormalization's
            moving statistics on (one training-mode call with momentum 0).
            Defaults to None: keep the supernet's statistics, so the model
            computes exactly what the supernet does with that sub-network.

    Returns:
        A compiled Keras 3 model built by `supernet.space.build`.

    Raises:
        TfnasInputError: A value is not a choice of the space.
    """
    net = supernet.resolve(values)
    model = supernet.space.build(net.hyperparameters())
    weights = supernet.subnet_weights(net)
    weighted = {layer.name for layer in model.layers if layer.weights}
    if weighted != set(weights):
        raise TfnasError(
            f"the supernet's sub-network does not match the space's model: layers with weights {sorted(weighted)}, "
            f"supernet slices {sorted(weights)} (values {dict(net.values)})."
        )
    for name, arrays in weights.items():
        model.get_layer(name).set_weights(arrays)
    if x_calibration is not None:
        recalibrate_batchnorm(model, x_calibration)
    return model


class InheritedSpace(kt.HyperModel):
    """The space's hypermodel, but each model it builds starts from the supernet's shared weights.

    A one-shot search trains its chosen sub-networks as ordinary trials;
    built through this, a trial fine-tunes from the inherited weights instead
    of training from scratch (Once-for-All's fine-tuning step). `fit` is the
    space's own.

    Args:
        supernet: The trained supernet (its space is the hypermodel wrapped).
        x_calibration: Training samples batch norm is re-estimated on after the weights are copied in.
    """

    def __init__(self, supernet: BaseSupernet, x_calibration: Any) -> None:
        super().__init__(name=supernet.space.name, tunable=supernet.space.tunable)
        self.supernet = supernet
        self.x_calibration = x_calibration

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        return extract(self.supernet, hp.values, self.x_calibration)

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
        return self.supernet.space.fit(hp, model, *args, **kwargs)
