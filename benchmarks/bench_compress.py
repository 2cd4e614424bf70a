"""Compression paths side by side on digits and MNIST-1D, measured as int8 files on the real runtimes.

Question: what does each path (int8 post-training quantization, QAT, 50% /
75% magnitude pruning with and without prune-preserving QAT, 2:4 pruning,
clustering, distillation, channel pruning of 25% / 50% of the filters, and
channel pruning to half the MACs by the cost model, `target=`, with one
share for every layer or shares by measured sensitivity) cost in
accuracy, and what does it save in MACs, bytes and arena, once the model is
a full-int8 `.tflite` run by LiteRT and TFLite Micro?

Setup: one fixed architecture per data set (digits: MobileNet-style, 4.8k
weights; MNIST-1D: DS-CNN, 47k MACs), trained from the same seed for
`--epochs`; every path fine-tunes that same trained model for
`--finetune-epochs` epochs per stage and is exported int8 with 200
calibration samples. Distillation fine-tunes it on a 4x wider teacher's
softened outputs. Accuracy is on the test split (digits:
`train_test_split(test_size=0.25, random_state=0)`; MNIST-1D: its own 1000
test signals), float = Keras, LiteRT and TFLite Micro = the int8 file.
Medians over `--seeds`; "drop" is the median over seeds of each seed's
int8 PTQ accuracy minus the row's (points), "B/PTQ" its bytes over PTQ's,
"macs" is counted on the exported file. The arena is TFLite Micro's
(activations + persistent) beside the cost model's total; "act" is TFLite
Micro's activation part beside the cost model's `peak_ram_bytes`; "sec" is
the row's wall time (compression, export and verification).

Run: `python benchmarks/bench_compress.py [--datasets digits mnist1d --seeds 0 1 2 --epochs 40
--finetune-epochs 10 --paths "int8 PTQ" "channels 50%" --output FILE]`.
Writes `benchmarks/results/bench_compress.json` by default.

`--defaults` answers issue 30's question: at `tfnas.compress`'s defaults
(no `epochs=`: every stage fine-tunes until it recovers), how much int8
TFLite Micro test accuracy do prune 0.5 + QAT and channel pruning to half
the MACs + QAT lose, each with and without distillation from the original,
and what does `max_drop=0.01` (a target of a fifth of the MACs, tried in
three steps) return? On digits (the MobileNet-style model above), MNIST-1D
(the DS-CNN-1D above) and "kws": a keyword-spotting-style 2-D DS-CNN
(MLPerf-Tiny layout, scaled down: a strided 5x3 stem, three depthwise-separable
blocks, average pooling) on MNIST-1D signals framed into 17 windows of 8
samples (no keyword audio is available offline). Each model is trained on
80% of the training split; compress fine-tunes on that 80% and chooses by the
other 20% (validation); the test split is only used for the final int8
accuracy. Writes `benchmarks/results/bench_compress_defaults.json`.
`LEVER_ROWS` are the settings the defaults were chosen against (Taylor vs
L1 ranking, fine-tuning rates 3e-4 to 3e-3, a larger cap, a lower QAT
rate); they run only when named: `--paths "half MACs + QAT, Taylor"`.

`--qat-1d` answers another question: on MNIST-1D, does QAT (its 1-D convs
built as 2-D ones for TF-MOT) quantize every Conv1D/DepthwiseConv1D, beat
PTQ (of the trained model, and of the model fine-tuned in float for the same
`--finetune-epochs`), and export the graph whose arena the cost model
predicts? CNN1DSpace's default model and the DS-CNN above; writes
`benchmarks/results/bench_compress_qat1d.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import keras
import keras_tuner as kt
import numpy as np

import tfnas
from tfnas.compress import recovery
from tfnas.cost import profile
from tfnas.demo import load_digits_images
from tfnas.demo import load_mnist1d
from tfnas.spaces import CNN1DSpace
from tfnas.spaces import DSCNN1DSpace
from tfnas.spaces import MobileNetSpace
from tfnas.verify.litert import file_macs

ARCHITECTURES = {
    "digits": (MobileNetSpace, {"stem_filters": 16, "stage1_filters": 32, "stage1_expansion": 4, "learning_rate": 3e-3}),
    "mnist1d": (
        DSCNN1DSpace,
        {"stem_filters": 32, "stem_strides": 2, "pooling": "none", "num_blocks": 3, "block1_filters": 32, "block2_filters": 32,
         "block3_filters": 32, "block1_strides": 1, "block2_strides": 2, "block3_strides": 1, "learning_rate": 3e-3},
    ),
}
PATHS = {
    "int8 PTQ": None,
    "QAT": {"qat": True},
    "prune 50%": {"prune": 0.5},
    "prune 50% + PQAT": {"prune": 0.5, "qat": True},
    "prune 75%": {"prune": 0.75},
    "prune 75% + PQAT": {"prune": 0.75, "qat": True},
    "2:4 + PQAT": {"structure": "2:4", "qat": True},
    "cluster 16": {"cluster": 16},
    "distill (4x teacher)": "distill",
    "channels 25%": {"channels": 0.25},
    "channels 50%": {"channels": 0.5},
    "channels 50% + QAT": {"channels": 0.5, "qat": True},
    "budget 50% MACs + QAT": "budget",
    "budget 50% MACs, Taylor + QAT": "budget taylor",
    "budget 50% MACs, sensitivity + QAT": "budget sensitivity",
}
BUDGET_ROWS = {  # the share of MACs to keep is fixed at half; how the filters are ranked and the shares allocated
    "budget": {},
    "budget taylor": {"channel_criterion": "taylor"},
    "budget sensitivity": {"channel_allocation": "sensitivity", "channel_criterion": "taylor"},
}


def build(dataset: str, input_shape: tuple, width: int = 1) -> keras.Model:
    space_cls, values = ARCHITECTURES[dataset]
    space = space_cls().configure(input_shape, 10, "classification")
    hp = kt.HyperParameters()
    space.build(hp)
    values = dict(values)
    for key in list(values):
        if "filters" in key:
            values[key] *= width
    hp.values.update(values)
    for registered in hp.space:  # stages/blocks switched on above take their defaults
        if hp.is_active(registered) and registered.name not in hp.values:
            hp.values[registered.name] = registered.default
    return space.build(hp)


def run_seed(
    dataset: str, seed: int, epochs: int, finetune_epochs: int, folder: str, paths: list[str] | None = None
) -> dict[str, dict]:
    (x, y), (x_test, y_test) = load_digits_images() if dataset == "digits" else load_mnist1d()
    keras.utils.set_random_seed(seed)
    model = build(dataset, x.shape[1:])
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    rows = {"float": {"float": _accuracy(model, x_test, y_test), "macs": profile(model).macs, "params": model.count_params()}}
    teacher = None
    for name, kwargs in PATHS.items():
        if paths and name not in paths:
            continue
        start = time.perf_counter()
        if kwargs is None:
            source, fine_tuned = model, None
        else:
            if isinstance(kwargs, str) and kwargs in BUDGET_ROWS:
                kwargs = {"target": {"max_macs": profile(model).macs // 2}, "qat": True, **BUDGET_ROWS[kwargs]}
            if kwargs == "distill":
                if teacher is None:
                    keras.utils.set_random_seed(seed)
                    teacher = build(dataset, x.shape[1:], width=4)
                    teacher.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
                    rows["teacher (float)"] = {"float": _accuracy(teacher, x_test, y_test), "params": teacher.count_params()}
                kwargs = {"distill_from": teacher}
            try:
                source = tfnas.compress(model, x, y, epochs=finetune_epochs, seed=seed, **kwargs)
            except tfnas.TfnasInputError as e:  # e.g. 2:4 on a 1D model: TF-MOT has nothing it can prune
                rows[name] = {"skipped": str(e)}
                print(f"  {dataset} seed {seed} {name:<22} not applicable: {str(e)[:80]}", flush=True)
                continue
            fine_tuned = source.final.value
        path = os.path.join(folder, f"{dataset}_{seed}_{len(rows)}.tflite")
        exported = tfnas.export(source, path, representative_data=x[:200])
        # the float twin of the file: the smaller Keras 3 model after channel pruning (its cost model's arena is "pred")
        twin = model if fine_tuned is None else source.keras_model
        checked = tfnas.verify(path, x_test, y_test, model=twin, latency_runs=200)
        rows[name] = {
            "finetune_val": fine_tuned,
            "macs": profile(model).macs if fine_tuned is None else source.stages[-1].macs,
            "litert": checked.litert_value,
            "micro": checked.micro_value,
            "agreement": checked.agreement,
            "bytes": exported.bytes,
            "gzip_bytes": exported.gzip_bytes,
            "weight_zeros": exported.weight_zeros,
            "arena_total": checked.arena_total_bytes,
            "arena_head": checked.arena_head_bytes,
            "predicted_peak_ram": checked.predicted_peak_ram_bytes,
            "predicted_arena_total": checked.predicted_arena_bytes,
            "file_macs": file_macs(path),
            "latency_ms": checked.litert_latency_ms,
            "seconds": time.perf_counter() - start,
        }
        print(f"  {dataset} seed {seed} {name:<22} micro {rows[name]['micro']:.4f} bytes {exported.bytes:,} "
              f"gzip {exported.gzip_bytes:,}", flush=True)
    return rows


def _accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.predict(x, verbose=0).argmax(1) == y))


def table(dataset: str, runs: list[dict[str, dict]]) -> list[str]:
    def med(name: str, key: str) -> float:
        values = [r[name][key] for r in runs if r[name].get(key) is not None]
        return float(np.median(values)) if values else float("nan")

    def vs_ptq(name: str, key: str, ratio: bool = False) -> float:
        """Median over seeds of each seed's change against its own int8 PTQ row (points, or a ratio)."""
        pairs = [(r[name][key], r["int8 PTQ"][key]) for r in runs if r[name].get(key) is not None and "int8 PTQ" in r]
        return float(np.median([(a / b) if ratio else 100 * (b - a) for a, b in pairs])) if pairs else float("nan")

    base = med("float", "float")
    lines = [
        f"\n{dataset}: float test accuracy {base:.2%} (median of {len(runs)} seeds), {int(med('float', 'macs')):,} MACs, "
        f"{int(med('float', 'params')):,} params",
        f"{'path':<34} {'LiteRT':>7} {'TFLM':>7} {'drop':>6} {'macs':>7} {'bytes':>7} {'B/PTQ':>6} {'gzip':>7} {'zeros':>6} "
        f"{'arena':>7} {'pred':>7} {'act':>6} {'pred':>6} {'lat_ms':>7} {'sec':>5}",
    ]
    for name in PATHS:
        if name not in runs[0]:
            continue
        if "skipped" in runs[0][name]:
            lines.append(f"{name:<34} not applicable: {runs[0][name]['skipped'][:90]}")
            continue
        micro = med(name, "micro")
        lines.append(
            f"{name:<34} {med(name, 'litert'):>7.2%} {micro:>7.2%} {vs_ptq(name, 'micro'):>5.2f}p "
            f"{med(name, 'file_macs'):>7,.0f} {int(med(name, 'bytes')):>7,} {vs_ptq(name, 'bytes', ratio=True):>6.1%} "
            f"{int(med(name, 'gzip_bytes')):>7,} {med(name, 'weight_zeros'):>6.1%} {int(med(name, 'arena_total')):>7,} "
            f"{med(name, 'predicted_arena_total'):>7,.0f} {int(med(name, 'arena_head')):>6,} "
            f"{int(med(name, 'predicted_peak_ram')):>6,} "
            f"{med(name, 'latency_ms'):>7.4f} {med(name, 'seconds'):>5.0f}"
        )
    if "teacher (float)" in runs[0]:
        lines.append(f"(teacher: {med('teacher (float)', 'float'):.2%} float, {int(med('teacher (float)', 'params')):,} params)")
    return lines


# --qat-1d: QAT on MNIST-1D's 1-D models (its 1-D convs built as 2-D ones for TF-MOT) against PTQ.
QAT_1D_MODELS = {"cnn1d": (CNN1DSpace, {}), "dscnn1d": ARCHITECTURES["mnist1d"]}
QAT_1D_HELD_OUT = 800  # the last training signals: compress's validation data; both fine-tunings train on the rest


def build_1d(name: str, input_shape: tuple) -> keras.Model:
    """CNN1DSpace's default model (Conv1D + BN + ReLU + MaxPooling1D twice, Flatten) or the file's DS-CNN-1D."""
    space_cls, values = QAT_1D_MODELS[name]
    space = space_cls().configure(input_shape, 10, "classification")
    hp = kt.HyperParameters()
    space.build(hp)
    hp.values.update(values)
    for registered in hp.space:
        if hp.is_active(registered) and registered.name not in hp.values:
            hp.values[registered.name] = registered.default
    return space.build(hp)


def _float_fine_tuned(model: keras.Model, x: np.ndarray, y: np.ndarray, epochs: int) -> keras.Model:
    """The float model trained `epochs` more with Adam from 1e-3 on a cosine decay (compress's recipe), for PTQ."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    steps = -(-len(x) // 32) * epochs
    softmax = getattr(model.layers[-1], "activation", None) is keras.activations.softmax
    copy.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, steps)),
                 keras.losses.SparseCategoricalCrossentropy(from_logits=not softmax))
    copy.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return copy


def _convs_quantized(model: keras.Model, qat_model) -> tuple[int, int]:
    """(1-D convs whose kernel the QAT model fake-quantizes, 1-D convs of the model)."""
    convs = [layer.name for layer in model.layers if isinstance(layer, (keras.layers.Conv1D, keras.layers.DepthwiseConv1D,
                                                                         keras.layers.SeparableConv1D))]
    quantized = set()
    for layer in qat_model.layers:
        config = getattr(layer, "quantize_config", None)
        if config is not None and config.get_weights_and_quantizers(layer.layer):
            quantized.add(layer.layer.name)
    return sum(name in quantized for name in convs), len(convs)


def run_qat_1d(name: str, seed: int, epochs: int, finetune_epochs: int, folder: str) -> dict[str, dict]:
    """One seed of one 1-D model: float, PTQ, PTQ after float fine-tuning, QAT; int8 on TFLite Micro."""
    (x, y), (x_test, y_test) = load_mnist1d()
    x_fit, y_fit = x[:-QAT_1D_HELD_OUT], y[:-QAT_1D_HELD_OUT]
    held_out = (x[-QAT_1D_HELD_OUT:], y[-QAT_1D_HELD_OUT:])
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    model = build_1d(name, x.shape[1:])
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    rows = {"float": {"float": _accuracy(model, x_test, y_test), "macs": profile(model).macs}}
    rows["float"]["seconds"] = time.perf_counter() - start
    for row in ("PTQ", "PTQ after float fine-tuning", "QAT"):
        start = time.perf_counter()
        keras.utils.set_random_seed(seed)
        entry: dict = {}
        if row == "PTQ":
            source = twin = model
        elif row == "QAT":
            source = tfnas.compress(model, x_fit, y_fit, validation_data=held_out, qat=True, epochs=finetune_epochs, seed=seed)
            twin = source.keras_model
            entry["convs_quantized"], entry["convs"] = _convs_quantized(model, source.model)
            entry["floating"] = source.skipped_layers.get("qat", {})
        else:
            source = twin = _float_fine_tuned(model, x_fit, y_fit, finetune_epochs)
        path = os.path.join(folder, f"qat1d_{name}_{seed}_{len(rows)}.tflite")
        exported = tfnas.export(source, path, representative_data=x[:200])
        checked = tfnas.verify(path, x_test, y_test, model=twin, latency_runs=20)
        entry.update({"float_twin": _accuracy(twin, x_test, y_test), "micro": checked.micro_value, "litert": checked.litert_value,
                      "ops": list(exported.ops), "bytes": exported.bytes, "arena_head": checked.arena_head_bytes,
                      "arena_total": checked.arena_total_bytes, "predicted_peak_ram": checked.predicted_peak_ram_bytes,
                      "seconds": time.perf_counter() - start})
        rows[row] = entry
        print(f"  {name} seed {seed} {row:<28} micro {entry['micro']:.4f} arena {entry['arena_head']:,} "
              f"(pred {entry['predicted_peak_ram']:,}) {entry['seconds']:.0f}s", flush=True)
    return rows


def table_qat_1d(name: str, runs: list[dict[str, dict]]) -> list[str]:
    """Per seed, then the median: TFLite Micro int8 test accuracy, convs quantized, arena measured vs predicted, seconds."""
    lines = [f"\nMNIST-1D {name}: float {np.median([r['float']['float'] for r in runs]):.2%} (median), "
             f"{runs[0]['float']['macs']:,} MACs",
             f"{'row':<28} {'seed':>6} {'TFLM':>7} {'quantized':>9} {'arena':>7} {'pred':>7} {'diff':>6} {'sec':>6}"]
    for row in ("PTQ", "PTQ after float fine-tuning", "QAT"):
        for label, picked in [(str(i), [r]) for i, r in enumerate(runs)] + [("median", runs)]:
            values = {key: float(np.median([r[row][key] for r in picked])) for key in
                      ("micro", "arena_head", "predicted_peak_ram", "seconds")}
            quantized = (f"{int(np.median([r[row]['convs_quantized'] for r in picked]))}/{picked[0][row]['convs']}"
                         if "convs" in picked[0][row] else "-")
            diff = values["arena_head"] / values["predicted_peak_ram"] - 1
            lines.append(f"{row:<28} {label:>6} {values['micro']:>7.2%} {quantized:>9} {int(values['arena_head']):>7,} "
                         f"{int(values['predicted_peak_ram']):>7,} {diff:>+6.1%} {values['seconds']:>6.0f}")
    return lines


def main_qat_1d(args: argparse.Namespace) -> None:
    """`--qat-1d`: both 1-D models over the seeds; writes `results/bench_compress_qat1d.json` unless --output says otherwise."""
    output = args.output
    if os.path.basename(output) == "bench_compress.json":
        output = os.path.join(os.path.dirname(output), "bench_compress_qat1d.json")
    results, lines = {}, []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for name in QAT_1D_MODELS:
            runs = [run_qat_1d(name, seed, args.epochs, args.finetune_epochs, folder) for seed in args.seeds]
            results[name] = runs
            lines += table_qat_1d(name, runs)
    print("\n".join(lines))
    with open(output, "w") as f:
        json.dump({"args": vars(args), "seconds": time.perf_counter() - start, "load_average": os.getloadavg(),
                   "results": results, "table": lines}, f, indent=1)
    print(f"\nWrote {output} in {time.perf_counter() - start:.0f}s")


# --defaults: issue 30's rows at compress's defaults (no epochs=), on three models, validation chosen, test never seen.
DEFAULT_ROWS = {
    "prune 0.5 + QAT, distill off": {"prune": 0.5, "qat": True, "distill": False},
    "prune 0.5 + QAT, distill on": {"prune": 0.5, "qat": True, "distill": True},
    "half MACs + QAT, distill off": {"target": 0.5, "qat": True, "distill": False},
    "half MACs + QAT, distill on": {"target": 0.5, "qat": True, "distill": True},
    "max_drop=0.01, 1/5 MACs in 3 steps + QAT": {"target": 0.2, "qat": True, "max_drop": 0.01, "distill": False},
}
LEVER_ROWS = {  # the levers tried against the rows above (`--paths NAME ...` runs them; not part of the default run)
    "half MACs + QAT, Taylor": {"target": 0.5, "qat": True, "distill": False, "channel_criterion": "taylor"},
    "half MACs + QAT, lr 3e-4": {"target": 0.5, "qat": True, "distill": False, "learning_rate": 3e-4},
    "prune 0.5 + QAT, lr 3e-4": {"prune": 0.5, "qat": True, "distill": False, "learning_rate": 3e-4},
    "prune 0.5 + QAT, QAT lr x0.1": {"prune": 0.5, "qat": True, "distill": False, "qat_lr_scale": 0.1},
    "half MACs + QAT, QAT lr x0.1": {"target": 0.5, "qat": True, "distill": False, "qat_lr_scale": 0.1},
    "half MACs + QAT, Taylor, lr 2e-3": {"target": 0.5, "qat": True, "distill": False, "channel_criterion": "taylor",
                                         "learning_rate": 2e-3},
    "prune 0.5 + QAT, lr 2e-3": {"prune": 0.5, "qat": True, "distill": False, "learning_rate": 2e-3},
    "half MACs + QAT, Taylor, lr 3e-3": {"target": 0.5, "qat": True, "distill": False, "channel_criterion": "taylor",
                                         "learning_rate": 3e-3},
    "prune 0.5 + QAT, lr 3e-3": {"prune": 0.5, "qat": True, "distill": False, "learning_rate": 3e-3},
    "max_drop=0.01, QAT lr x1/3": {"target": 0.2, "qat": True, "max_drop": 0.01, "distill": False, "qat_lr_scale": 1 / 3},
    "half MACs + QAT, QAT lr x1/3": {"target": 0.5, "qat": True, "distill": False, "qat_lr_scale": 1 / 3},
    "half MACs + QAT, L1, lr 3e-3": {"target": 0.5, "qat": True, "distill": False, "channel_criterion": "l1",
                                     "learning_rate": 3e-3},
    "half MACs + QAT, Taylor, cap 48/cut": {"target": 0.5, "qat": True, "distill": False, "channel_criterion": "taylor",
                                            "cap_per_cut": 48},
}


def build_kws(input_shape: tuple, filters: int = 32, blocks: int = 3) -> keras.Model:
    """A small keyword-spotting DS-CNN in the MLPerf-Tiny layout (strided stem, depthwise-separable blocks, pooling)."""
    layers = keras.layers
    inputs = keras.Input(input_shape)
    h = layers.Conv2D(filters, (5, 3), strides=(2, 2), padding="same", use_bias=False)(inputs)
    h = layers.ReLU()(layers.BatchNormalization()(h))
    for _ in range(blocks):
        h = layers.ReLU()(layers.BatchNormalization()(layers.DepthwiseConv2D(3, padding="same", use_bias=False)(h)))
        h = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(filters, 1, use_bias=False)(h)))
    outputs = layers.Dense(10, activation="softmax")(layers.GlobalAveragePooling2D()(h))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    return model


def _frames(x: np.ndarray, window: int = 8, hop: int = 2) -> np.ndarray:
    """MNIST-1D signals (n, 40, 1) as (n, frames, window, 1): the 2-D map a KWS DS-CNN reads (here raw windows)."""
    return np.lib.stride_tricks.sliding_window_view(x[..., 0], window, axis=1)[:, ::hop, :, None].astype(np.float32)


def defaults_data(dataset: str, seed: int) -> tuple:
    """`(fit, validation, test)` splits: validation is a seeded stratified 20% of the training split."""
    from sklearn.model_selection import train_test_split

    (x, y), (x_test, y_test) = load_digits_images() if dataset == "digits" else load_mnist1d()
    if dataset == "kws":
        x, x_test = _frames(x), _frames(x_test)
    x_fit, x_val, y_fit, y_val = train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y)
    return (x_fit, y_fit), (x_val, y_val), (x_test, y_test)


def _int8_row(source, twin, path: str, x_fit, test) -> dict:
    exported = tfnas.export(source, path, representative_data=x_fit[:200])
    checked = tfnas.verify(path, test[0], test[1], model=twin, latency_runs=5)
    return {"micro": checked.micro_value, "litert": checked.litert_value, "bytes": exported.bytes}


def run_defaults_seed(dataset: str, seed: int, epochs: int, folder: str, rows: list[str] | None = None) -> dict[str, dict]:
    (x_fit, y_fit), validation, test = defaults_data(dataset, seed)
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    model = build_kws(x_fit.shape[1:]) if dataset == "kws" else build(dataset, x_fit.shape[1:])
    model.fit(x_fit, y_fit, epochs=epochs, batch_size=32, verbose=0)
    macs = profile(model).macs
    out = {"float": {"test": _accuracy(model, *test), "val": _accuracy(model, *validation), "macs": macs,
                     "seconds": time.perf_counter() - start}}
    start = time.perf_counter()
    out["int8 PTQ"] = {**_int8_row(model, model, os.path.join(folder, f"d_{dataset}_{seed}_ptq.tflite"), x_fit, test),
                       "val": out["float"]["val"], "seconds": time.perf_counter() - start}
    for name, kwargs in {**DEFAULT_ROWS, **LEVER_ROWS}.items():
        if (rows and name not in rows) or (not rows and name in LEVER_ROWS):
            continue
        kwargs = dict(kwargs)
        if "target" in kwargs:
            kwargs["target"] = {"max_macs": int(macs * kwargs["target"])}
        start = time.perf_counter()
        default_scale, default_cap = tfnas.compress.QAT.learning_rate_scale, recovery.CAP_PER_CUT
        tfnas.compress.QAT.learning_rate_scale = kwargs.pop("qat_lr_scale", default_scale)  # a lever row's QAT rate
        recovery.CAP_PER_CUT = kwargs.pop("cap_per_cut", default_cap)  # and its cap
        try:
            result = tfnas.compress(model, x_fit, y_fit, validation_data=validation, seed=seed, **kwargs)
        finally:
            tfnas.compress.QAT.learning_rate_scale, recovery.CAP_PER_CUT = default_scale, default_cap
        twin = result.keras_model
        row = _int8_row(result, twin, os.path.join(folder, f"d_{dataset}_{seed}_{len(out)}.tflite"), x_fit, test)
        row.update({"val": result.final.value, "val_drop": out["float"]["val"] - result.final.value,
                    "macs": result.final.macs, "seconds": time.perf_counter() - start, "notes": result.notes,
                    "stages": [(s.stage, s.epochs, s.stop_reason, s.value) for s in result.stages[1:]],
                    "tried": [(str(t.strength), t.value, t.drop, t.within, t.tflite_bytes) for t in result.tried]})
        out[name] = row
        print(f"  {dataset} seed {seed} {name:<42} micro {row['micro']:.4f} (PTQ {out['int8 PTQ']['micro']:.4f}) "
              f"bytes {row['bytes']:,} val drop {row['val_drop']:+.4f} {row['seconds']:.0f}s {row['stages']}", flush=True)
    return out


def table_defaults(dataset: str, runs: list[dict[str, dict]]) -> list[str]:
    """Medians over seeds: int8 TFLite Micro test accuracy, its drop from the float model's and from PTQ's, bytes, val drop, s."""
    lines = [f"\n{dataset}: float test {np.median([r['float']['test'] for r in runs]):.2%}, "
             f"{runs[0]['float']['macs']:,} MACs (median of {len(runs)} seeds)",
             f"{'row':<42} {'TFLM':>7} {'-float':>7} {'-PTQ':>6} {'bytes':>7} {'B/PTQ':>6} {'val_drop':>8} {'max_val':>7} "
             f"{'sec':>5}"]
    for name in ["int8 PTQ", *DEFAULT_ROWS, *LEVER_ROWS]:
        have = [r for r in runs if name in r]
        if not have:
            continue
        columns = {
            "micro": [r[name]["micro"] for r in have],
            "float": [100 * (r["float"]["test"] - r[name]["micro"]) for r in have],
            "ptq": [100 * (r["int8 PTQ"]["micro"] - r[name]["micro"]) for r in have],
            "bytes": [r[name]["bytes"] for r in have],
            "ratio": [r[name]["bytes"] / r["int8 PTQ"]["bytes"] for r in have],
            "val": [100 * r[name].get("val_drop", 0.0) for r in have],
            "seconds": [r[name]["seconds"] for r in have],
        }
        med = {key: float(np.median(values)) for key, values in columns.items()}
        lines.append(
            f"{name:<42} {med['micro']:>7.2%} {med['float']:>6.2f}p {med['ptq']:>5.2f}p {med['bytes']:>7,.0f} "
            f"{med['ratio']:>6.1%} {med['val']:>7.2f}p {max(columns['val']):>6.2f}p {med['seconds']:>5.0f}"
        )
    return lines


def main_defaults(args: argparse.Namespace) -> None:
    """`--defaults`: the rows of `DEFAULT_ROWS` on digits, MNIST-1D and the KWS DS-CNN over the seeds."""
    output = args.output
    if os.path.basename(output) == "bench_compress.json":
        output = os.path.join(os.path.dirname(output), "bench_compress_defaults.json")
    datasets = args.datasets or ["digits", "mnist1d", "kws"]
    results, lines = {}, []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for dataset in datasets:
            results[dataset] = [run_defaults_seed(dataset, seed, args.epochs, folder, args.paths) for seed in args.seeds]
            lines += table_defaults(dataset, results[dataset])
            print("\n".join(lines[-len(DEFAULT_ROWS) - 3:]), flush=True)
            with open(output, "w") as f:  # after each data set, so a partial run is never lost
                json.dump({"args": vars(args), "seconds": time.perf_counter() - start, "load_average": os.getloadavg(),
                           "results": results, "table": lines}, f, indent=1)
    print("\n".join(lines))
    print(f"\nWrote {output} in {time.perf_counter() - start:.0f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=None, help="digits mnist1d (and kws with --defaults)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--finetune-epochs", type=int, default=10)
    parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results", "bench_compress.json"))
    parser.add_argument("--paths", nargs="+", default=None, help=f"only these rows (besides the float model) of {list(PATHS)}")
    parser.add_argument("--qat-1d", action="store_true", help="QAT vs PTQ on MNIST-1D's 1-D models instead (main_qat_1d)")
    parser.add_argument("--defaults", action="store_true", help="issue 30's rows at compress's defaults (main_defaults)")
    args = parser.parse_args()
    if args.defaults:
        return main_defaults(args)
    if args.qat_1d:
        return main_qat_1d(args)
    results, lines = {}, []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for dataset in args.datasets or ["digits", "mnist1d"]:
            runs = [run_seed(dataset, seed, args.epochs, args.finetune_epochs, folder, args.paths) for seed in args.seeds]
            results[dataset] = runs
            lines += table(dataset, runs)
    print("\n".join(lines))
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump({"args": vars(args), "seconds": time.perf_counter() - start, "load_average": os.getloadavg(),
                   "results": results, "table": lines}, f, indent=1)
    print(f"\nWrote {args.output} in {time.perf_counter() - start:.0f}s")


if __name__ == "__main__":
    main()
