"""Ranking quality of the one-shot supernet: does inherited-weight accuracy order sub-networks as training does?

Question (issue 14, item 6, first bullet): a one-shot search ranks thousands
of sub-networks by their accuracy with the supernet's shared weights,
without training them. That is only worth doing if the ranking agrees with
the one a trial-based search would get by training each sub-network from
scratch. The target is Kendall tau >= 0.5 between the two accuracies on 30
random sub-networks; the naive baseline is "bigger is better" (tau of MACs
against stand-alone accuracy), which the supernet has to beat to add anything.

Setup, per seed:
- MNIST-1D (`tfnas.demo.load_mnist1d`, 4000 train / 1000 test signals of
  length 40). A seeded permutation of the training set: its last 20% is the
  validation split, the rest the fit split; the test set is not used.
- `DSCNN1DSpace()` with its default choices, configured for (40, 1) and 10 classes;
  `--frame '{"stem_strides": [2], "pooling": ["max"], "strides": [1]}'` narrows
  it to one frame (strides and pooling fixed, as the one-shot oracle's
  supernet holds them: `tfnas.oneshot.frame`). Seed 0, 30 sub-networks,
  without distillation, supernet at learning rate 1e-3: tau 0.48 over the
  whole space (MACs 0.59), 0.57 in that frame (MACs 0.52, noise ceiling
  0.64): `benchmarks/results/bench_oneshot_ranking.json` and
  `..._frame.json`. In that frame seeds 1 and 2 (`--repeats 1`,
  `..._frame_seed1.json`, `..._frame_seed2.json`) gave tau 0.33 and 0.23
  (MACs 0.33 and 0.34). At the supernet's default learning rate since
  2026-11-30 (the space's largest, 1e-2; same sub-networks and stand-alone
  figures, `--standalone-from`): see `..._frame_lr_seed{0,1,2}.json`; for 60
  epochs at 3e-3 (`--supernet-epochs 60 --learning-rate 0.003`):
  `..._frame_lr3e-3_e60_seed{0,1,2}.json`.
- `--dataset digits`: scikit-learn digits (8x8 images, 1347 training
  images), `MobileNetSpace`, its 2-D supernet (eager: about 30 s an epoch
  on one core, so 15 epochs and `--epochs 15` fit a seed in ~20 minutes).
  Seeds 0-2 in the frame the oracle's "auto" picks for `max_macs` 20,000
  (`--frame '{"stem_strides": [2], "strides": [2]}'`), with distillation,
  at the default learning rate: `bench_oneshot_ranking_digits.json`.
- The supernet (`tfnas.oneshot.Supernet`) is trained on the fit split with
  `train_supernet` (sandwich rule, in-place distillation, the default
  `Training()` recipe) for `--supernet-epochs`; `--no-distill` trains the
  smaller sub-networks on the labels instead of the largest's outputs.
- `--subnets` distinct random sub-networks (`random_subnet`, seeded; the
  training hps keep their defaults: dropout 0, learning rate 1e-3). For each:
  * inherited: `extract(supernet, values, x_calibration=fit[:256])` (shared
    weights sliced in, batch norm re-estimated), accuracy on the validation
    split; the seconds of extract + recalibration + validation are timed;
  * stand-alone: `space.build(hp)` trained from scratch with `Training()` for
    `--epochs` on the fit split, validation accuracy of the last epoch (what
    a tfnas trial reports), `--repeats` times with other seeds; the
    ground truth is their mean, and the tau between two repeats is the
    noise ceiling: no proxy can agree with one training better than
    another training of the same sub-network does (`--repeat-minutes`
    skips the repeats that would start later, to fit a time box; every
    first training runs before any repeat);
  * MACs: `tfnas.cost.profile(model).macs`.
- Kendall tau and Spearman rho (scipy) of inherited vs stand-alone accuracy,
  Kendall tau of MACs vs stand-alone accuracy, sub-networks ranked per
  minute; the ranking is also measured with the supernet's weights at the
  `--snapshots` epochs (mid-schedule: not decayed, so only a trend).

The supernet and the stand-alone trainings are independent: with `--jobs 2`
(default) they run in two spawned worker processes, one TensorFlow thread
each (the supernet in one, the stand-alone trainings in the other, then
both); the inherited-weight ranking runs afterwards, alone.

Run: `python benchmarks/bench_oneshot.py [--dataset mnist1d --seeds 0 --subnets 30 --epochs 30
--supernet-epochs 30 --repeats 2]`. Prints a table and writes
`benchmarks/results/bench_oneshot_ranking.json` (arguments, one row per
sub-network, a summary per seed and the median over seeds). To try another
supernet on the same sub-networks without training them again, add
`--standalone-from benchmarks/results/bench_oneshot_ranking.json` (the
earlier runs are kept in the file under `earlier_runs`).
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import keras
import numpy as np
import tensorflow as tf
from scipy.stats import kendalltau
from scipy.stats import spearmanr

from tfnas.cost import profile
from tfnas.demo import load_digits_images
from tfnas.demo import load_mnist1d
from tfnas.oneshot import BaseSupernet
from tfnas.oneshot import extract
from tfnas.oneshot import random_subnet
from tfnas.oneshot import resolve
from tfnas.oneshot import supernet_for
from tfnas.oneshot import train_supernet
from tfnas.oneshot.masked import compilable
from tfnas.spaces import DSCNN1DSpace
from tfnas.spaces import MobileNetSpace
from tfnas.training import Training

RESULTS = os.path.join(os.path.dirname(__file__), "results")
CALIBRATION = 256


@functools.lru_cache(maxsize=None)
def load(dataset: str, seed: int) -> tuple:
    """The fit and validation splits of the training set (last 20% of a seeded permutation is validation)."""
    (x, y), _ = load_digits_images() if dataset == "digits" else load_mnist1d()
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(round(0.8 * len(x)))
    fit, val = order[:cut], order[cut:]
    return (x[fit], y[fit]), (x[val], y[val])


def make_space(x: np.ndarray, frame: str | None = None) -> DSCNN1DSpace | MobileNetSpace:
    """The data set's space (DS-CNN 1-D for signals, MobileNet for images), narrowed by `frame` (JSON
    `{range name: [choices]}`) when given."""
    narrowed = {name: tuple(choices) for name, choices in json.loads(frame).items()} if frame else {}
    space_class = MobileNetSpace if x.ndim == 4 else DSCNN1DSpace
    return space_class(**narrowed).configure(tuple(x.shape[1:]), 10, "classification")


def draw(space: DSCNN1DSpace, count: int, seed: int) -> list[dict]:
    """`count` random sub-networks with distinct architectures (inactive block hps do not make two distinct)."""
    rng = np.random.default_rng([seed, 14])
    subnets, seen = [], set()
    while len(subnets) < count:
        values = random_subnet(space, rng)
        active = resolve(space, values).values
        key = json.dumps(active, sort_keys=True)
        if key not in seen:
            seen.add(key)
            subnets.append(dict(active))
    return subnets


def _worker_init(threads: int) -> None:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def train_shared(
    dataset: str, seed: int, epochs: int, snapshots: tuple[int, ...], distill: bool = True, frame: str | None = None,
    learning_rate: float | None = None,
) -> dict:
    """Trains the supernet on the fit split; returns its weights (final and at `snapshots` epochs) and figures."""
    (x, y), (x_val, y_val) = load(dataset, seed)
    keras.utils.set_random_seed(seed)
    supernet = supernet_for(make_space(x, frame))
    kept = {}

    def keep(epoch: int, logs: dict) -> None:
        print(f"supernet epoch {epoch + 1}/{epochs}: " + ", ".join(f"{k}={v:.3g}" for k, v in logs.items()), flush=True)
        if epoch + 1 in snapshots and epoch + 1 < epochs:
            kept[epoch + 1] = [keras.ops.convert_to_numpy(w) for w in supernet.weights]

    history = train_supernet(supernet, x, y, epochs=epochs, validation_data=(x_val, y_val), seed=seed, progress=keep,
                             distill=distill, learning_rate=learning_rate)
    kept[epochs] = [keras.ops.convert_to_numpy(w) for w in supernet.weights]
    return {
        "weights": kept, "epochs": history.epochs, "steps": history.steps,
        "subnets_per_step": history.subnets_per_step, "subnet_passes": history.steps * history.subnets_per_step,
        "subnet_epochs": history.subnet_epochs, "seconds": history.seconds,
        "seconds_per_epoch": history.seconds / history.epochs, "logs": [dict(log) for log in history.logs],
    }


def train_standalone(
    dataset: str, seed: int, index: int, values: dict, epochs: int, repeat: int, deadline: float | None = None,
    frame: str | None = None,
) -> dict | None:
    """Trains one sub-network's own model from scratch with `Training()`; its last epoch's validation accuracy.

    A repeat (not the first training) is skipped, returning None, when it would start after `deadline` (`time.time()`).
    """
    if repeat and deadline is not None and time.time() > deadline:
        return None
    (x, y), (x_val, y_val) = load(dataset, seed)
    space = make_space(x, frame)
    keras.utils.set_random_seed(seed * 10_000 + index * 10 + repeat)
    model = space.build(resolve(space, values).hyperparameters())
    start = time.perf_counter()
    history = Training().fit(model, x, y, epochs=epochs, validation_data=(x_val, y_val))
    row = {
        "val": float(history.history["val_accuracy"][-1]), "seconds": time.perf_counter() - start,
        "macs": profile(model).macs, "params": model.count_params(),
    }
    print(f"stand-alone {index} repeat {repeat}: {row}", flush=True)
    return row


def standalone_row(index: int, values: dict, runs: list[dict | None]) -> dict:
    """A sub-network's stand-alone figures over its training repeats (accuracy: their mean; skipped ones left out)."""
    runs = [r for r in runs if r is not None]
    return {
        "index": index, "values": values, "macs": runs[0]["macs"], "params": runs[0]["params"],
        "standalone_val": float(np.mean([r["val"] for r in runs])), "standalone_vals": [r["val"] for r in runs],
        "standalone_seconds": float(np.mean([r["seconds"] for r in runs])),
    }


def reused_rows(path: str, dataset: str, seed: int, subnets: list[dict]) -> list[dict]:
    """The stand-alone figures of the same sub-networks from an earlier run's results file (to try another supernet)."""
    with open(path) as f:
        runs = [r for r in json.load(f)["runs"] if (r["dataset"], r["seed"]) == (dataset, seed)]
    keys = ("index", "values", "macs", "params", "standalone_val", "standalone_vals", "standalone_seconds")
    if not runs or [row["values"] for row in runs[0]["rows"]] != subnets:
        raise SystemExit(f"{path} has no run of {dataset} seed {seed} with these {len(subnets)} sub-networks.")
    return [{key: row[key] for key in keys} for row in runs[0]["rows"]]


def rank_inherited(supernet: BaseSupernet, values: dict, x_cal: np.ndarray, x_val: np.ndarray, y_val: np.ndarray) -> dict:
    """Inherited-weight validation accuracy of one sub-network, timed from extraction to the score."""
    start = time.perf_counter()
    model = extract(supernet, values, x_calibration=x_cal)
    probabilities = keras.ops.convert_to_numpy(model(x_val, training=False))
    accuracy = float(np.mean(np.argmax(probabilities, axis=-1) == y_val))
    return {"inherited_val": accuracy, "inherited_seconds": time.perf_counter() - start}


def finetuned_scores(
    supernet: BaseSupernet, subnets: list[dict], x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
    steps: int, learning_rate: float = 1e-3, batch_size: int = 32,
) -> tuple[list[float], float]:
    """Validation accuracy of each sub-network after `steps` Adam steps from the inherited weights (then restored).

    A cheaper proxy than training from scratch, dearer than inheriting: each
    sub-network trains alone for a few steps as the masked largest (one
    compiled graph for all of them, `tfnas.oneshot.masked`), is extracted
    and scored as `rank_inherited` does; the supernet's weights and a fresh
    optimizer are put back before the next. Returns the scores and the seconds.
    """
    from tfnas.oneshot.masked import subnet_masks
    from tfnas.oneshot.masked import subnet_step

    saved = [np.asarray(v) for v in supernet.variables]
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build(supernet.trainable_variables)
    slots = [v for v in optimizer.variables if "learning_rate" not in v.path]
    blank = [np.zeros(v.shape, np.asarray(v).dtype) for v in slots]
    step = subnet_step(supernet, optimizer)

    start, scores = time.perf_counter(), []
    rng = np.random.default_rng(0)
    try:
        for values in subnets:
            for variable, value in zip([*supernet.variables, *slots], [*saved, *blank], strict=True):
                variable.assign(value)
            masks = subnet_masks(supernet, values)
            for _ in range(steps):
                index = rng.integers(0, len(x), batch_size)
                step(x[index], y[index], masks)
            scores.append(rank_inherited(supernet, values, x[:CALIBRATION], x_val, y_val)["inherited_val"])
    finally:
        for variable, value in zip(supernet.variables, saved, strict=True):
            variable.assign(value)
    return scores, time.perf_counter() - start


def run(dataset: str, seed: int, args: argparse.Namespace) -> dict:
    """One seed: supernet and stand-alone trainings in the workers, then the inherited ranking here."""
    began = time.perf_counter()
    (x, _), (x_val, y_val) = load(dataset, seed)
    space = make_space(x, args.frame)
    subnets = draw(space, args.subnets, seed)
    context = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    reused = reused_rows(args.standalone_from, dataset, seed, subnets) if args.standalone_from else None
    with ProcessPoolExecutor(args.jobs, mp_context=context, initializer=_worker_init, initargs=(threads,)) as pool:
        shared = pool.submit(train_shared, dataset, seed, args.supernet_epochs, tuple(args.snapshots), not args.no_distill,
                             args.frame, args.learning_rate)
        deadline = time.time() + 60 * args.repeat_minutes if args.repeat_minutes else None
        futures = [[pool.submit(train_standalone, dataset, seed, i, values, args.epochs, r, deadline,
                                 args.frame)
                    for i, values in enumerate(subnets)] for r in range(args.repeats)] if reused is None else []
        rows = reused or [standalone_row(i, v, [fs[i].result() for fs in futures]) for i, v in enumerate(subnets)]
        trained = shared.result()
    training_seconds = time.perf_counter() - began
    snapshots = trained.pop("weights")
    supernet = supernet_for(space)
    by_epoch = {}
    for epoch in sorted(snapshots):  # the final weights last: the rows keep their ranking
        for variable, value in zip(supernet.weights, snapshots[epoch], strict=True):
            variable.assign(value)
        start = time.perf_counter()
        for row, values in zip(rows, subnets, strict=True):
            row.update(rank_inherited(supernet, values, x[:CALIBRATION], x_val, y_val))
        ranking_seconds = time.perf_counter() - start
        by_epoch[epoch] = summarize(rows)
        for row in rows:
            row[f"inherited_val_epoch{epoch}"] = row["inherited_val"]
    summary = dict(by_epoch[args.supernet_epochs])
    if args.finetune_steps and compilable(supernet):  # (the masked step covers DS-CNN 1-D frames)
        (x_fit, y_fit), _ = load(dataset, seed)
        scores, seconds = finetuned_scores(supernet, subnets, x_fit, y_fit, x_val, y_val, args.finetune_steps)
        for row, score in zip(rows, scores, strict=True):
            row["finetuned_val"] = score
        summary.update(
            finetune_steps=args.finetune_steps, finetune_seconds=seconds,
            kendall_tau_finetuned=float(kendalltau(scores, [r["standalone_val"] for r in rows]).statistic),
            finetuned_val_median=statistics.median(scores),
        )
    summary.update(
        supernet_epochs=trained["epochs"], supernet_subnet_passes=trained["subnet_passes"],
        supernet_seconds=trained["seconds"], supernet_seconds_per_epoch=trained["seconds_per_epoch"],
        standalone_trainings=sum(len(r["standalone_vals"]) for r in rows),
        standalone_seconds_median=statistics.median(r["standalone_seconds"] for r in rows),
        standalone_seconds_total=sum(len(r["standalone_vals"]) * r["standalone_seconds"] for r in rows),
        ranking_seconds=ranking_seconds, training_wall_seconds=training_seconds,
        wall_seconds=time.perf_counter() - began,
        kendall_tau_by_supernet_epoch={epoch: s["kendall_tau"] for epoch, s in by_epoch.items()},
    )
    space_choices = {name: list(values) for name, values in space.ranges.items()}
    return {"dataset": dataset, "seed": seed, "space": space_choices, "supernet": trained, "summary": summary,
            "rows": rows}


def summarize(rows: list[dict]) -> dict:
    """Rank correlations and ranking throughput over one seed's sub-networks."""
    inherited = [r["inherited_val"] for r in rows]
    standalone = [r["standalone_val"] for r in rows]
    macs = [r["macs"] for r in rows]
    seconds = [r["inherited_seconds"] for r in rows]
    return {
        "subnets": len(rows),
        "kendall_tau": float(kendalltau(inherited, standalone).statistic),
        "kendall_p": float(kendalltau(inherited, standalone).pvalue),
        "spearman_rho": float(spearmanr(inherited, standalone).statistic),
        "kendall_tau_macs": float(kendalltau(macs, standalone).statistic),
        "spearman_rho_macs": float(spearmanr(macs, standalone).statistic),
        "kendall_tau_inherited_macs": float(kendalltau(inherited, macs).statistic),
        **_repeat_taus(rows, inherited),
        "ranked_per_minute": 60.0 * len(rows) / sum(seconds),
        "ranked_per_minute_after_first": 60.0 * (len(rows) - 1) / sum(seconds[1:]) if len(rows) > 1 else None,
        "inherited_seconds_median": statistics.median(seconds),
        "standalone_val_median": statistics.median(standalone),
        "inherited_val_median": statistics.median(inherited),
    }


def _repeat_taus(rows: list[dict], inherited: list[float]) -> dict:
    """With two stand-alone trainings per sub-network: tau against one training, and between the two (the noise ceiling)."""
    first = [r["standalone_vals"][0] for r in rows]
    twice = [(r["standalone_vals"][0], r["standalone_vals"][1]) for r in rows if len(r["standalone_vals"]) > 1]
    if len(twice) < 5:
        return {"kendall_tau_single_training": float(kendalltau(inherited, first).statistic)}
    return {
        "kendall_tau_single_training": float(kendalltau(inherited, first).statistic),
        "kendall_tau_standalone_repeats": float(kendalltau(*zip(*twice, strict=True)).statistic),
        "subnets_trained_twice": len(twice),
    }


def _architecture(v: dict) -> str:
    """A sub-network in one line: stem, then each block (1-D) or stage (2-D)."""
    if "num_blocks" in v:
        return (f"stem {v['stem_filters']}/k{v['stem_kernel']}/s{v['stem_strides']} {v['pooling']} "
                + " ".join(f"{v[f'block{i}_filters']}k{v[f'block{i}_kernel']}s{v[f'block{i}_strides']}"
                           for i in range(1, v["num_blocks"] + 1)))
    return (f"stem {v['stem_filters']}/s{v.get('stem_strides', '-')} "
            + " ".join(f"{v[f'stage{i}_filters']}k{v[f'stage{i}_kernel']}e{v[f'stage{i}_expansion']}"
                       f"x{v[f'stage{i}_blocks']}s{v[f'stage{i}_strides']}" for i in range(1, v["num_stages"] + 1)))


def print_run(result: dict) -> None:
    print(f"\n{result['dataset']} seed {result['seed']}: supernet {result['supernet']['epochs']} epochs, "
          f"{result['supernet']['subnet_passes']} sub-network passes, {result['supernet']['seconds']:.0f} s")
    print(f"{'#':>3} {'macs':>8} {'params':>7} {'inherited':>9} {'standalone':>10} {'rank s':>6} {'train s':>7}  architecture")
    for row in sorted(result["rows"], key=lambda r: -r["standalone_val"]):
        arch = _architecture(row["values"])
        print(f"{row['index']:>3} {row['macs']:>8,} {row['params']:>7,} {row['inherited_val'] * 100:>8.1f}% "
              f"{row['standalone_val'] * 100:>9.1f}% {row['inherited_seconds']:>6.2f} {row['standalone_seconds']:>7.1f}  {arch}")
    s = result["summary"]
    print(f"tau vs the first stand-alone training only {s['kendall_tau_single_training']:.3f}")
    if "kendall_tau_standalone_repeats" in s:
        print(f"tau between two stand-alone trainings (noise ceiling, {s['subnets_trained_twice']} sub-networks) "
              f"{s['kendall_tau_standalone_repeats']:.3f}")
    print("tau by supernet epoch: " + ", ".join(f"{e}: {t:.3f}" for e, t in s["kendall_tau_by_supernet_epoch"].items()))
    if "kendall_tau_finetuned" in s:
        print(f"after {s['finetune_steps']} fine-tuning steps from the inherited weights: tau "
              f"{s['kendall_tau_finetuned']:.3f} ({s['finetune_seconds']:.0f} s for {s['subnets']} sub-networks)")
    print(f"Kendall tau {s['kendall_tau']:.3f} (p {s['kendall_p']:.2g}), Spearman {s['spearman_rho']:.3f}; "
          f"MACs baseline tau {s['kendall_tau_macs']:.3f}; {s['ranked_per_minute']:.0f} sub-networks ranked/min "
          f"({s['ranked_per_minute_after_first']:.0f} after the first); stand-alone training median "
          f"{s['standalone_seconds_median']:.1f} s; wall {s['wall_seconds']:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["mnist1d", "digits"], default="mnist1d",
                        help="mnist1d: DS-CNN 1-D space; digits (8x8 images): MobileNet space")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--subnets", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=30, help="stand-alone training epochs per sub-network")
    parser.add_argument("--supernet-epochs", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="the supernet's peak learning rate (default: the space's largest choice)")
    parser.add_argument("--no-distill", action="store_true", help="students learn from the labels, not the largest")
    parser.add_argument("--snapshots", type=int, nargs="*", default=[10, 20],
                        help="supernet epochs at which the ranking is also measured")
    parser.add_argument("--repeats", type=int, default=2, help="stand-alone trainings per sub-network (seeds)")
    parser.add_argument("--repeat-minutes", type=float, default=None,
                        help="skip the repeat trainings that would start later than this after the start")
    parser.add_argument("--standalone-from", default=None,
                        help="reuse the stand-alone accuracies of this results file (same seeds and sub-networks); "
                             "its runs are kept under earlier_runs")
    parser.add_argument("--frame", default=None,
                        help="JSON narrowing the space's choices, "
                             'e.g. \'{"stem_strides": [2], "pooling": ["max"], "strides": [1]}\'')
    parser.add_argument("--finetune-steps", type=int, default=0,
                        help="also rank by accuracy after this many Adam steps from the inherited weights (batch 32)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for the trainings")
    parser.add_argument("--output", default=os.path.join(RESULTS, "bench_oneshot_ranking.json"))
    args = parser.parse_args()
    began = time.perf_counter()
    runs = []
    for seed in args.seeds:
        runs.append(run(args.dataset, seed, args))
        print_run(runs[-1])
    keys = ("kendall_tau", "spearman_rho", "kendall_tau_macs", "ranked_per_minute", "wall_seconds",
            *(("kendall_tau_finetuned",) if args.finetune_steps else ()))
    summary = {f"median_{key}": statistics.median(r["summary"][key] for r in runs) for key in keys}
    summary["wall_seconds_total"] = time.perf_counter() - began
    if len(runs) > 1:
        print("median over seeds: " + ", ".join(f"{k}={v:.3g}" for k, v in summary.items()))
    out = {"args": vars(args), "summary": summary, "runs": runs}
    if args.standalone_from:
        with open(args.standalone_from) as f:
            earlier = json.load(f)
        out["earlier_runs"] = [*earlier.get("earlier_runs", []), *({
            "args": earlier["args"], "summary": run["summary"], "supernet": run["supernet"],
            "inherited_val": [row["inherited_val"] for row in run["rows"]],
        } for run in earlier["runs"])]
    with open(args.output, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
