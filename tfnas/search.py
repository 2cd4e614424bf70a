"""`tfnas.search()`: one call from data to a Pareto set of trained Keras 3 models."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
import time
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

import keras
import keras_tuner as kt

from tfnas import _compat
from tfnas import atomic
from tfnas import distributed
from tfnas.constraints import Constraints
from tfnas.cost.device import load_device
from tfnas.cost.device import require_device
from tfnas.data import prepare
from tfnas.errors import TfnasInputError
from tfnas.finalize import SEARCH_FILENAME
from tfnas.lock import RunLock
from tfnas.oracles import DEFAULT_ORACLE
from tfnas.oracles import get_oracle
from tfnas.progress import Progress
from tfnas.progress import silenced
from tfnas.result import SearchResult
from tfnas.rewards import Reward
from tfnas.rewards import get_reward
from tfnas.spaces import get_space
from tfnas.spaces.resolve import initial_points_of
from tfnas.spaces.resolve import summary_keys_of
from tfnas.training import Training
from tfnas.tuner import CandidatePricer
from tfnas.tuner import EdgeTuner
from tfnas.warm_start import warm_start_values

logger = logging.getLogger(__name__)

ONE_SHOT = ("oneshot", "dnas")  # oracles that train a supernet: they read an image folder as `(FileImages, y)` pairs


def search(
    x: Any,
    y: Any = None,
    *,
    validation_data: Any = None,
    validation_split: float = 0.2,
    space: Any = "auto",
    reward: str | Reward | Callable | None = "pareto",
    constraints: Constraints | Mapping[str, Any] | None = None,
    oracle: str | Mapping[str, Any] | kt.Oracle = DEFAULT_ORACLE,
    max_trials: int = 20,
    epochs: int = 10,
    batch_size: int = 32,
    directory: str = "tfnas_runs",
    project_name: str = "search",
    overwrite: bool = False,
    seed: int | None = None,
    verbose: int = 1,
    task: str | None = None,
    callbacks: list | None = None,
    distribution_strategy: Any = None,
    max_draws: int = 100,
    max_consecutive_failed_trials: int = 5,
    worker_timeout: float = 300.0,
    training: Training | Mapping[str, Any] | None = None,
    warm_start: Any = None,
    validation_groups: Any = None,
    device: Any = None,
) -> SearchResult:
    """Searches for edge models that trade quality against cost under hard limits.

    A keras-tuner HyperModel (`space`) proposes architectures, a
    `MultiObjectiveOracle` (`oracle`) picks them, skipping without training
    every candidate over `constraints`, and scores trained ones with `reward`.
    Re-running the same call with `overwrite=False` resumes the search.

    The same call runs unchanged under keras-tuner's distributed mode (the
    `KERASTUNER_*` environment variables, or `tfnas launch`): the chief
    runs the Oracle (constraints, rewards, Pareto front) and returns the
    full result once every worker is done; each worker trains trials and
    returns a snapshot of the run directory when the budget is used up.
    Every process must see the same data and the same `directory`.

    Example:

    ```python
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = digits.images[..., None] / 16.0
    result = tfnas.search(x, digits.target, constraints={"max_macs": 20_000}, max_trials=10)
    result.summary()
    model = result.best.model()
    ```

    Args:
        x: numpy array `(n, ...)` or a `tf.data.Dataset` of batched `(x, y)`.
        y: labels: integer class ids (classification) or floats (regression).
        validation_data: `(x_val, y_val)` or a `tf.data.Dataset`. Defaults to
            a seeded, stratified `validation_split` of `x`.
        validation_split: float, share held out when there is no validation_data.
        space: `"auto"` (by input shape: an MLP for vectors; for signals a
            plain Conv1D stack, DS-CNN or MLP; for images a plain CNN, MLP or
            MobileNet-style family; for spectrograms a KWS DS-CNN, plain CNN
            or MLP), a name from `tfnas.spaces.SPACES`, a
            `tfnas.spaces.EdgeSpace`, any `kt.HyperModel` or a build
            function `hp -> keras.Model`.
        reward: `"pareto"`, a `tfnas.rewards.Reward` (`MnasNet`, `Linear`) or
            a callable `metrics -> float`.
        constraints: hard limits such as `{"max_macs": 20_000}`; keys
            `max_macs`, `max_flops`, `max_params`, `max_tflite_bytes`,
            `max_peak_ram_bytes` (activations), `max_arena_bytes` (the whole
            TFLite Micro arena: set it to the SRAM the part can spare),
            `max_latency_ms` (predicted on `device`, which it needs).
        oracle: a strategy name from `tfnas.oracles.ORACLES`: `"pso"`
            (particle swarm, the default: best median hypervolume in
            benchmarks/bench_strategies.py), `"evolution"`, `"random"`,
            `"nsga2"`, `"bayesian"`, `"hyperband"`, `"rl"`, `"greedy"`,
            `"oneshot"` (a weight-sharing supernet searched by evolution,
            `space="dscnn1d"`; its training counts against `max_trials`),
            `"dnas"` (the same supernet searched by gradient, DARTS/FBNet
            style, with an expected-MACs penalty); a
            dict `{"name": "pso", "num_particles": 6}` with the strategy's
            own arguments; or a `kt.Oracle` instance (its own `max_trials`
            applies; a `MultiObjectiveOracle` adopts the search's objective
            and constraints where it has none, see `get_oracle`).
        max_trials: int, number of models trained.
        epochs: int, training epochs per trial.
        batch_size: int, training batch size (arrays only; `training.batch_size` wins).
        directory: str, where runs are written.
        project_name: str, the run's folder inside `directory`.
        overwrite: bool, start afresh instead of resuming (ignored on
            distributed workers: only the chief clears the run directory).
        seed: int, makes the search repeatable on one machine: it seeds the
            split, the oracle and Keras (`keras.utils.set_random_seed`) and
            turns on TensorFlow's op determinism while the search runs
            (cost: see the README). In distributed mode, `None` splits with
            seed 0 so that every worker validates on the same samples.
        verbose: int, 1 prints a line per trial (`Trial i/N`, with an ETA)
            and a closing line (`result.summary()` prints the front), and
            holds back TensorFlow's, Keras's and TF-MOT's own warnings; 0
            prints nothing, on stdout or stderr; 2 lets those libraries'
            warnings through as well (`tfnas._voice`).
            Details (rejected candidates, resume repairs) go to the Python
            logger `tfnas`, shown once you configure logging.
        task: `"classification"` or `"regression"`; inferred from `y`.
        callbacks: Keras callbacks passed to every `model.fit`.
        distribution_strategy: a `tf.distribute.Strategy` each trial builds
            and trains under (keras-tuner's `distribution_strategy`), e.g.
            `tf.distribute.MirroredStrategy()` for the GPUs of one worker.
        max_draws: int, candidates drawn per trial before giving up.
        max_consecutive_failed_trials: int, failures in a row that stop the search.
        worker_timeout: float, seconds a distributed worker may stay silent
            (it reports every `worker_timeout / 4` seconds while it trains)
            before the chief declares its trial lost and hands it to the
            next worker; a lost trial is trained again once. Defaults to 300.
        training: the `tfnas.Training` recipe (or a dict of its fields) every
            trial trains with: cosine schedule with warm-up, label smoothing
            0.1 and weight decay 1e-4 by default. A trial reports its last
            epoch's metrics, those of the model it saves.
        warm_start: an earlier `SearchResult` or run directory (or a list of
            them), on other data or other limits: the most accurate
            candidates of its front are proposed first. No trial is copied.
        validation_groups: one group id per sample of `x` (speaker, subject,
            recording): the validation split then holds whole groups, so no
            group is on both sides. Use it whenever samples of one group look
            alike, or validation accuracy overstates test accuracy.
        device: a `tfnas.latency.DeviceProfile` or the path of its JSON file
            (`tfnas calibrate phone.json`): every candidate's `latency_ms` is
            then predicted before it trains (from the int8 graph the converter
            will write), so `constraints={"max_latency_ms": 4}`,
            `Pareto(costs=("latency_ms",))` and `MnasNet(target=4.0,
            metric="latency_ms")` work, and the summary, plots and progress
            lines show it. Loaded once; another LiteRT version than the one
            installed here gives a warning naming both.

    Returns:
        A `SearchResult`.

    Raises:
        TfnasInputError: bad data or arguments, before any training; or
            another search is writing the same run directory.
        InfeasibleSearchError: no candidate of the space meets the constraints.
        DistributedSearchError: a worker lost the chief, or does not share its run directory.
    """
    role = distributed.role()
    _check_arguments(max_trials=max_trials, epochs=epochs, batch_size=batch_size, worker_timeout=worker_timeout)
    limits = Constraints.from_any(constraints)
    chosen_reward = get_reward(reward)
    device_profile = load_device(device, purpose="tfnas.search")
    _check_latency_metrics(limits, chosen_reward, oracle, device_profile)
    recipe = Training.from_any(training)
    warm_values = warm_start_values(warm_start)
    batch_size = recipe.batch_size or batch_size
    class_names = [str(name) for name in getattr(x, "class_names", None) or []]  # an image folder's (or Keras dataset's)
    data = prepare(
        x, y, validation_data=validation_data, validation_split=validation_split, task=task,
        batch_size=batch_size, seed=0 if seed is None and role else seed, validation_groups=validation_groups,
        as_files=_trains_supernet(oracle),
    )
    hypermodel = get_space(
        space, data.spec.input_shape, data.spec.num_outputs, data.spec.task.kind, constraints=limits
    )
    warm_values += initial_points_of(hypermodel)
    pricer = CandidatePricer(hypermodel, distribution_strategy, device=device_profile)
    oracle = get_oracle(
        oracle, objective=kt.Objective(*data.spec.task.objective), constraints=limits, reward=chosen_reward,
        epochs=epochs, cost_function=pricer, warm_start=warm_values, max_trials=max_trials, seed=seed,
        max_draws=max_draws, max_consecutive_failed_trials=max_consecutive_failed_trials,
    )
    _check_writable(directory)
    budget = getattr(oracle, "max_trials", None) or max_trials
    progress = Progress(budget, keys=summary_keys_of(hypermodel), verbose=verbose)
    make_tuner = functools.partial(
        EdgeTuner, hypermodel, oracle, constraints=limits, callback=progress, pricer=pricer, worker_timeout=worker_timeout,
        training=recipe, directory=directory, project_name=project_name, overwrite=overwrite and role != "worker",
        distribution_strategy=distribution_strategy,
    )
    settings = {
        "training": recipe.to_dict(), "epochs": epochs, "batch_size": batch_size, "seed": seed, "class_names": class_names,
    }
    fit_args = (data.fit_args, {**data.fit_kwargs, "epochs": epochs, "verbose": 0, "callbacks": list(callbacks or [])})
    start = time.perf_counter()
    tuner, result = _run(make_tuner, fit_args, role=role, seed=seed, verbose=verbose, settings=settings)
    result.search_seconds = time.perf_counter() - start
    _close(progress, tuner, result, role=role, budget=budget, max_draws=max_draws)
    return result


def _check_latency_metrics(limits: Constraints, reward: Reward, oracle: Any, device: Any) -> None:
    """Refuses, before any data is read, a latency limit or reward with no device to predict latency on."""
    require_device(limits.to_dict(), device, "constraints")
    require_device(getattr(getattr(oracle, "constraints", None), "to_dict", dict)(), device, "the oracle's constraints")
    used = [*getattr(reward, "costs", ()), getattr(reward, "metric", None)]
    require_device(used, device, f"the reward {type(reward).__name__}")


def _trains_supernet(oracle: Any) -> bool:
    """Whether the oracle trains a supernet: it then reads an image folder's `FileImages` batch by batch in an order of
    its own (`tfnas.oneshot.inputs`), so `prepare` hands the files over unread rather than as `tf.data` datasets."""
    if isinstance(oracle, Mapping):
        name = oracle.get("name")
    else:
        name = oracle if isinstance(oracle, str) else getattr(oracle, "strategy_name", None)
    return name in ONE_SHOT


def _check_arguments(*, max_trials: Any, epochs: Any, batch_size: Any, worker_timeout: Any) -> None:
    """Refuses, before any work, counts that are not positive integers and a `worker_timeout` that is not a positive number."""
    for name, value in (("max_trials", max_trials), ("epochs", epochs), ("batch_size", batch_size)):
        _check_positive_int(name, value)
    if isinstance(worker_timeout, bool) or not isinstance(worker_timeout, (int, float)) or not worker_timeout > 0:
        raise TfnasInputError(f"worker_timeout must be a positive number of seconds. Received: worker_timeout={worker_timeout!r}")


def _run(
    make_tuner: functools.partial, fit_args: tuple[tuple, dict[str, Any]], *, role: str | None, seed: int | None,
    verbose: int, settings: dict[str, Any],
) -> tuple[EdgeTuner, SearchResult]:
    """Makes the tuner and runs the search under the run lock, op determinism (when seeded) and `silenced(verbose)`.

    Returns the tuner and the run directory's `SearchResult` (on a worker,
    once the chief's directory is visible).
    """
    if role:
        distributed.quiet_keras_tuner()
    # One writer per run directory; distributed workers write into the chief's and take no lock.
    where = make_tuner.keywords
    lock = RunLock(where["directory"], where["project_name"]) if role != "worker" else contextlib.nullcontext()
    with lock, _compat.op_determinism(seed is not None):
        with silenced(verbose), distributed.worker_errors() if role == "worker" else contextlib.nullcontext():
            tuner = make_tuner()
            if role != "worker":
                atomic.write_json(os.path.join(tuner.project_dir, SEARCH_FILENAME), settings)
            if seed is not None:
                # Here, not earlier: keras-tuner's tuner explores conditional hps with unseeded random values while it
                # is made, which builds (and initialises) a different number of layers in every process.
                keras.utils.set_random_seed(seed)
            args, kwargs = fit_args
            tuner.search(*args, **kwargs)
        if role == "worker":
            distributed.wait_for_shared_directory(tuner.project_dir)
        return tuner, SearchResult.load(tuner.project_dir)


def _close(
    progress: Progress, tuner: EdgeTuner, result: SearchResult, *, role: str | None, budget: int, max_draws: int
) -> None:
    """The search's closing lines: a worker's, or the chief's note on a search that stopped early and its counts."""
    if role == "worker":
        progress.note(
            f"Worker {tuner.tuner_id} done: no trials left. The chief returns the search's result ({tuner.project_dir})."
        )
        return
    if len(result.trials) < budget:
        logger.warning(  # the details, for the user's logging; the same note on the progress line below
            "The search stopped after %d of %d trials: the oracle proposed no new feasible candidate (max_draws=%d).",
            len(result.trials), budget, max_draws,
        )
        progress.note(
            f"The search stopped after {len(result.trials)} of {budget} trials: the oracle proposed no new feasible "
            f"candidate (max_draws={max_draws}). Raise max_draws, widen the space or relax the constraints."
        )
    progress.note(f"{result.counts()}, in {result.search_seconds:.0f}s. result.summary() prints the front.")


def _check_positive_int(name: str, value: Any) -> None:
    """Refuses a value that is not a positive integer (a bool neither)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TfnasInputError(f"{name} must be a positive integer. Received: {name}={value!r}")


def _check_writable(directory: str) -> None:
    """Fails fast when the run directory cannot be created or written.

    The probe is a temporary file of this process's own: the chief and the
    workers of a distributed search check the same folder at the same time
    (one shared probe name let one process delete another's probe).
    """
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory, prefix=".tfnas_write_test") as f:
            f.write(b"ok")
    except OSError as e:
        raise TfnasInputError(
            f"Cannot write the run directory {directory!r} ({e.strerror}): pass directory= a folder you can write to."
        ) from e
