"""The compiled MobileNet-family supernet step (masked, or sliced at run time) computes what the eager, sliced one does."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfnas.demo import load_digits_images
from tfnas.errors import TfnasInputError
from tfnas.oneshot import Supernet
from tfnas.oneshot import random_subnet
from tfnas.oneshot import smallest
from tfnas.oneshot import supernet_for
from tfnas.oneshot import train
from tfnas.oneshot import train_supernet
from tfnas.oneshot.compiled import compilable
from tfnas.oneshot.masked2d import CompiledSandwich2D
from tfnas.oneshot.masked2d import compilable_2d
from tfnas.oneshot.masked2d import masked_call_2d
from tfnas.oneshot.masked2d import subnet_masks_2d
from tfnas.oneshot.sandwich import sandwich_step
from tfnas.oneshot.sliced2d import sliced_call_2d
from tfnas.spaces import DSCNN1DSpace
from tfnas.spaces import DSCNN2DSpace
from tfnas.spaces import MobileNetSpace
from tfnas.testing.supernets import perturbed_supernet

# Every elastic range has two choices or more; the frame (stem stride, stage stride, head) has one.
RANGES = {"num_stages": (1, 2, 3), "blocks": (1, 2, 3), "filters": (8, 16, 32), "stem_filters": (8, 16),
          "kernel_sizes": (3, 5), "expansions": (1, 2, 4), "skip": (True, False)}
FRAME = {"stem_strides": (1,), "strides": (2,), "head": ("gap",)}
# The compiled step sums float32 in another order than the eager one: over seeds 0-5 (this test's setup, two SGD
# steps with momentum) the largest weight difference was 2.1e-6 (3.4e-7 after one step); 10x that is the tolerance.
# Without putting unused weight sets back, the difference is 1.2e-3 after one step. The sliced step (seeds 0 and 1)
# was within it too.
ATOL = 2e-5
SAME_SHAPE = {"stem_filters": 16, "stage1_filters": 16, "stage1_strides": 2, "stage1_blocks": 3}

# One elastic dimension at a time (others at their defaults), then mixed ones; `stages-1` drops two strided stages.
SUBNETS = {
    "stages-1": {"num_stages": 1},
    "stages-3": {"num_stages": 3},
    "blocks": {"num_stages": 2, "stage1_blocks": 3, "stage2_blocks": 2},
    "width-stem": {"stem_filters": 16, "stage1_blocks": 2},
    "width-stages": {"num_stages": 2, "stage1_filters": 32, "stage2_filters": 16, "stage2_blocks": 2},
    "kernel": {"num_stages": 2, "stage1_kernel": 5, "stage2_kernel": 3, "stage2_blocks": 2},
    "expansion-1-vs-4": {"num_stages": 2, "stage1_expansion": 1, "stage2_expansion": 4, "stage2_blocks": 2},
    "skip": {**SAME_SHAPE, "stage1_expansion": 2},
    "no-skip": {**SAME_SHAPE, "stage1_skip": False, "stage1_expansion": 1},
    "mixed": {"stem_filters": 16, "num_stages": 3, "stage1_filters": 16, "stage1_blocks": 3, "stage1_expansion": 1,
              "stage2_kernel": 5, "stage2_expansion": 2, "stage3_filters": 32, "stage3_blocks": 2},
}


def _space(head: str = "gap", task: str = "regression", **ranges):
    return MobileNetSpace(**{**RANGES, **FRAME, "head": (head,), **ranges}).configure((8, 8, 1), 3, task)


def test_only_a_fixed_frame_compiles():
    assert compilable_2d(supernet_for(_space())) and compilable(supernet_for(_space("flatten")))
    assert compilable(supernet_for(DSCNN2DSpace().configure((49, 10, 1), 12, "classification")))
    assert not compilable_2d(supernet_for(_space(strides=(2, 1))))  # stage strides elastic
    assert not compilable_2d(supernet_for(_space(stem_strides=(1, 2))))
    two_heads = MobileNetSpace(**{**RANGES, **FRAME, "head": ("gap", "flatten")}).configure((8, 8, 1), 3, "regression")
    assert not compilable_2d(supernet_for(two_heads))
    assert not compilable_2d(supernet_for(_space(kernel_sizes=(3, 4))))  # centre taps would be off by half a pixel
    one_d = Supernet(DSCNN1DSpace(stem_strides=(2,), pooling=("max",), strides=(1,)).configure((40, 1), 5, "classification"))
    assert compilable(one_d) and not compilable_2d(one_d)


@pytest.mark.parametrize("head", ["gap", "flatten"])
@pytest.mark.parametrize("values", list(SUBNETS.values()), ids=list(SUBNETS))
@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
def test_masked_outputs_equal_the_sliced_supernet(values, head, training):
    space = _space(head)
    x = np.random.default_rng(1).normal(size=(6, 8, 8, 1)).astype("float32")
    sliced, masked = perturbed_supernet(space), perturbed_supernet(space)
    expected = np.asarray(sliced(x, training=training, values=values))
    got = np.asarray(masked_call_2d(masked, x, subnet_masks_2d(masked, values), training=training))
    assert np.abs(expected).max() < 1e3  # the comparison means something
    np.testing.assert_allclose(got, expected, atol=1e-5)
    for a, b in zip(sliced.non_trainable_variables, masked.non_trainable_variables, strict=True):
        if "moving" in a.path:  # training mode moves the same moving statistics (only the active channels)
            np.testing.assert_allclose(np.asarray(b), np.asarray(a), atol=1e-5, err_msg=a.path)


def test_masked_spectrogram_supernet_equals_the_sliced_one():
    space = DSCNN2DSpace(num_stages=(1, 2, 3), filters=(16, 32), kernel_sizes=(3, 5)).configure((49, 10, 1), 4,
                                                                                                "regression")
    x = np.random.default_rng(2).normal(size=(4, 49, 10, 1)).astype("float32")
    rng = np.random.default_rng(0)
    for values in (smallest(space), *({**random_subnet(space, rng), "dropout": 0.0} for _ in range(3))):
        sliced, masked = perturbed_supernet(space), perturbed_supernet(space)
        expected = np.asarray(sliced(x, training=True, values=values))
        got = np.asarray(masked_call_2d(masked, x, subnet_masks_2d(masked, values), training=True))
        np.testing.assert_allclose(got, expected, atol=1e-5)


# A trace of the sliced step takes 70-170 s here (the gradients of its switch_cases): one seed of each step. The
# sliced outputs of every kind of sub-network are compared with the eager ones above.
@pytest.mark.parametrize(("seed", "sliced"), [(0, True), (2, False)], ids=["sliced-0", "masked-2"])
def test_compiled_step_updates_the_weights_as_the_eager_step(seed, sliced):
    space = _space(task="classification")
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(16, 8, 8, 1)).astype("float32"), np.arange(16) % 3
    students = [smallest(space), *({**random_subnet(space, rng), "dropout": 0.0} for _ in range(2))]
    nets, logs = [], []
    for compiled in (False, True):
        keras.utils.set_random_seed(0)
        supernet = perturbed_supernet(space, seed=4)
        # Momentum and weight decay: a weight set no sub-network uses must keep its weights and momenta, as eagerly.
        # (Adam would amplify float noise in near-zero gradients.)
        optimizer = keras.optimizers.SGD(0.05, momentum=0.9, weight_decay=0.01)
        optimizer.build(supernet.trainable_variables)
        step = CompiledSandwich2D(supernet, optimizer, students=3, sliced=sliced) if compiled else None
        for _ in range(2):
            log = step(x, y, students) if compiled else sandwich_step(supernet, optimizer, x, y, students)
        nets.append(supernet)
        logs.append(log)
    for key in logs[0]:
        assert logs[1][key] == pytest.approx(logs[0][key], rel=1e-4), key
    start = perturbed_supernet(space, seed=4)
    moved = 0
    for eager, compiled, initial in zip(nets[0].weights, nets[1].weights, start.weights, strict=True):
        np.testing.assert_allclose(np.asarray(compiled), np.asarray(eager), atol=ATOL, err_msg=eager.path)
        moved += not np.allclose(np.asarray(eager), np.asarray(initial))
    assert moved > len(start.weights) // 2  # the step trained something


def test_train_supernet_compiles_a_fixed_frame_by_default(monkeypatch):
    (x, y), _ = load_digits_images()
    space = MobileNetSpace(stem_filters=(8, 16), stem_strides=(1,), num_stages=(1, 2), blocks=(1, 2), filters=(8, 16),
                           kernel_sizes=(3,), expansions=(1, 2), strides=(2,)).configure((8, 8, 1), 10, "classification")
    built = []
    real = train.compiled_sandwich
    monkeypatch.setattr(train, "compiled_sandwich", lambda *a, **k: built.append(real(*a, **k)) or built[-1])
    history = train_supernet(supernet_for(space), x[:256], y[:256], epochs=2, batch_size=64, num_random=1)
    assert len(built) == 1 and isinstance(built[0], CompiledSandwich2D)
    assert history.history["loss_largest"][-1] < history.history["loss_largest"][0]
    with pytest.raises(TfnasInputError, match="compiled=True needs"):
        train_supernet(supernet_for(narrow_free := _space(strides=(2, 1), task="classification")),
                       np.zeros((4, 8, 8, 1)), np.zeros(4, int), epochs=1, compiled=True)
    assert not compilable(supernet_for(narrow_free))


@pytest.mark.parametrize("head", ["gap", "flatten"])
@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
def test_sliced_outputs_equal_the_eager_supernet(head, training):
    space = _space(head)
    x = np.random.default_rng(1).normal(size=(6, 8, 8, 1)).astype("float32")
    graph = perturbed_supernet(space)
    # One graph for every sub-network: the masks are its inputs (one trace, checked at the end).
    call = tf.function(lambda x, masks: sliced_call_2d(graph, x, masks, training=training), autograph=False)
    for name, values in SUBNETS.items():
        eager = perturbed_supernet(space)
        if training:  # moving statistics as the eager supernet left them before this sub-network
            for a, b in zip(graph.non_trainable_variables, eager.non_trainable_variables, strict=True):
                b.assign(a)
        expected = np.asarray(eager(x, training=training, values=values))
        got = np.asarray(call(x, subnet_masks_2d(graph, values)))
        assert np.abs(expected).max() < 1e3  # the comparison means something
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=name)
        for a, b in zip(eager.non_trainable_variables, graph.non_trainable_variables, strict=True):
            if "moving" in a.path:  # training mode moves the same moving statistics (only the active channels)
                np.testing.assert_allclose(np.asarray(b), np.asarray(a), atol=1e-5, err_msg=f"{name}: {a.path}")
    assert len(call._list_all_concrete_functions()) == 1  # noqa: SLF001


def test_one_trace_serves_every_spectrogram_subnet():
    space = DSCNN2DSpace(num_stages=(1, 2, 3), filters=(16, 32), kernel_sizes=(3, 5)).configure((49, 10, 1), 4,
                                                                                                "regression")
    x = np.random.default_rng(2).normal(size=(4, 49, 10, 1)).astype("float32")
    rng = np.random.default_rng(0)
    graph = perturbed_supernet(space)
    call = tf.function(lambda x, masks: sliced_call_2d(graph, x, masks, training=False), autograph=False)
    for values in (smallest(space), *({**random_subnet(space, rng), "dropout": 0.0} for _ in range(3))):
        expected = np.asarray(perturbed_supernet(space)(x, training=False, values=values))
        np.testing.assert_allclose(np.asarray(call(x, subnet_masks_2d(graph, values))), expected, atol=1e-5)
    assert len(call._list_all_concrete_functions()) == 1  # noqa: SLF001 (the point: one graph)
