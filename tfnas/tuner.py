"""`EdgeTuner`: the keras-tuner Tuner that trains a candidate and reports its cost.

A trial here is: build the Keras 3 model from the hyperparameters, measure it
with `tfnas.cost.profile`, train it with the search's `Training` recipe, save
it as `model.keras` in the trial directory, and report the **last** epoch's
metrics (those of the saved weights; see `tfnas.training` for why not the
best epoch's) plus the cost metrics and the epochs trained, as plain floats
(so they cross keras-tuner's gRPC in distributed mode). A loss that becomes NaN
fails only that trial, and so does a build function that raises for some
hyperparameter values; why a trial failed is also written to the trial
directory (`failure.txt`), because keras-tuner's gRPC does not carry it.

In keras-tuner's distributed mode the chief's `search` serves the Oracle
(`tfnas.distributed.serve`) and the workers' `search` trains.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from typing import Any

import keras
import keras_tuner as kt

from tfnas import _kt_compat
from tfnas import atomic
from tfnas import distributed
from tfnas.constraints import Constraints
from tfnas.cost import profile
from tfnas.errors import TrialFailedError
from tfnas.heartbeat import beating
from tfnas.oracles.base import MultiObjectiveOracle
from tfnas.training import Training

MODEL_FILENAME = "model.keras"
FAILURE_FILENAME = "failure.txt"  # why a trial failed: keras-tuner's gRPC drops trial messages
MODEL_RECORD_FILENAME = "model.json"  # which values the saved model was trained for, and its bytes' hash


class CandidatePricer:
    """Builds a candidate from its hyperparameters and prices it with the cost model, without training it.

    It is the oracle's `cost_function`: a `MultiObjectiveOracle` checks
    constraints with it before a candidate becomes a trial. The model is kept
    until the next call, so when the oracle accepts the candidate the tuner
    trains this very model instead of building it again. No `clear_session`
    here: this runs for every candidate drawn.

    Args:
        hypermodel: a `kt.HyperModel` (a search space).
        distribution_strategy: a `tf.distribute.Strategy` the models are built under, or None.
        device: a loaded `tfnas.latency.DeviceProfile`: the costs then include `latency_ms`. None: no latency.
    """

    def __init__(self, hypermodel: kt.HyperModel, distribution_strategy: Any = None, device: Any = None):
        self.hypermodel = hypermodel
        self.distribution_strategy = distribution_strategy
        self.device = device
        self._last: tuple[dict, keras.Model, dict[str, float]] | None = None

    def __call__(self, hp: kt.HyperParameters) -> dict[str, float]:
        model = self.build(hp)
        costs = profile(model, device=self.device).to_dict()
        self._last = (dict(hp.values), model, costs)
        return costs

    def model_for(self, hp: kt.HyperParameters) -> tuple[keras.Model, dict[str, float]]:
        """The model last priced for these values and its costs, else a fresh build."""
        cached, self._last = self._last, None
        if cached is not None and cached[0] == hp.values:
            return cached[1], cached[2]
        # Keras's own garbage collection (`free_memory=True`) costs ~0.3 s a trial and grows with the heap;
        # Python's collector frees the previous trial's model anyway.
        keras.backend.clear_session(free_memory=False)
        model = self.build(hp)
        return model, profile(model, device=self.device).to_dict()

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        """The candidate's Keras 3 model; a build that raises fails only its trial."""
        scope = self.distribution_strategy.scope() if self.distribution_strategy else contextlib.nullcontext()
        try:
            with scope:
                model = self.hypermodel.build(hp)
        except kt.errors.FatalError:
            raise
        except Exception as e:
            raise TrialFailedError(
                f"Building the model failed for {dict(hp.values)}: {type(e).__name__}: {e}. The trial is failed and "
                "the search goes on; fix the space's build function for these values, or narrow its ranges."
            ) from e
        if not isinstance(model, keras.Model):
            raise kt.errors.FatalTypeError(
                f"The search space must build a Keras 3 model (keras.Model). Received: {type(model)}. "
                "A tf_keras model cannot be searched by keras-tuner: build it with `import keras`."
            )
        return model


class EdgeTuner(kt.Tuner):
    """A `kt.Tuner` whose trials train with a `Training` recipe, report cost metrics and save the model.

    With a `MultiObjectiveOracle`, constraints are checked before training
    with `pricer` (the oracle's `cost_function`; an oracle built without one
    adopts this tuner's). With any other `kt.Oracle`, a candidate over a limit
    fails as a trial (keras-tuner's own behaviour for `max_model_size`).

    Args:
        hypermodel: a `kt.HyperModel` or a build function `hp -> keras.Model`.
        oracle: a `kt.Oracle`, usually a `tfnas.oracles.MultiObjectiveOracle`.
        constraints: limits for plain Oracles; a `MultiObjectiveOracle` brings its own.
        callback: optional object with `on_trial_begin(tuner, trial)` and
            `on_trial_end(tuner, trial)`, used for progress lines.
        pricer: the `CandidatePricer` the oracle prices candidates with;
            one is made for `hypermodel` when None.
        worker_timeout: float, in distributed mode, the seconds a worker may
            stay silent before the chief hands its trial to another worker
            (workers report every quarter of it while they train).
        training: the `Training` recipe of every trial (defaults when None).
        **kwargs: passed to `kt.Tuner` (`directory`, `project_name`,
            `overwrite`, `distribution_strategy`, ...).
    """

    hypermodel: kt.HyperModel  # keras-tuner's; after the oracle's `prepare`, the one trials build from

    def __init__(
        self, hypermodel: Any, oracle: kt.Oracle, constraints: Any = None, callback: Any = None,
        pricer: CandidatePricer | None = None, worker_timeout: float = 300.0, training: Training | None = None,
        **kwargs: Any,
    ):
        self.callback = callback
        self.training = Training.from_any(training)
        self.worker_timeout = float(worker_timeout)
        self.constraints = oracle.constraints if isinstance(oracle, MultiObjectiveOracle) else Constraints.from_any(constraints)
        if distributed.is_chief() and not kwargs.get("overwrite", False):
            _adopt_search(os.path.join(str(kwargs.get("directory") or "."), kwargs.get("project_name") or "untitled_project"))
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)
        self.pricer = pricer or CandidatePricer(self.hypermodel, self.distribution_strategy)
        if isinstance(oracle, MultiObjectiveOracle) and oracle.cost_function is None:
            oracle.adopt(cost_function=self.pricer)
        self.last_metrics: dict[str, float] = {}  # what the last trial reported (a worker's trials hold none)
        self._shared_directory_checked = False
        self._attach_to: Any = None  # a worker's training inputs, until its oracle is attached
        self._asked = False  # a worker asked for a trial and none began: the chief answered IDLE

    def run_trial(self, trial: kt.engine.trial.Trial, *args: Any, **kwargs: Any) -> dict[str, float]:
        hp = trial.hyperparameters
        model, costs = self.pricer.model_for(hp)
        violations = self.constraints.violations(costs)
        if violations:
            raise TrialFailedError(f"Candidate over the constraints: {'; '.join(violations)}.")
        if "tuner/epochs" in hp.values:  # a multi-fidelity trial (tfnas's or keras-tuner's Hyperband)
            kwargs["epochs"] = int(hp.values["tuner/epochs"])
            kwargs["initial_epoch"] = int(hp.values.get("tuner/initial_epoch", 0))
            parent = hp.values.get("tuner/trial_id")
            if parent:  # a promotion goes on from its parent's weights and trains only the extra epochs
                model.load_weights(self.model_path(parent))
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), keras.callbacks.TerminateOnNaN()]
        start = time.perf_counter()
        alive = beating(self.oracle, trial.trial_id, self.worker_timeout / 4) if distributed.is_worker() else None
        # The recipe compiles a fresh optimizer: under a distribution strategy it must be made in its scope.
        scope = self.distribution_strategy.scope() if self.distribution_strategy else contextlib.nullcontext()
        with alive or contextlib.nullcontext(), scope:  # a worker tells the chief it is alive while it trains
            history = self.training.fit(
                model, *args, monitor=self.oracle.objective.name, **kwargs,
                fit_fn=lambda m, *a, **k: self.hypermodel.fit(hp, m, *a, **k),
            )
        fit_seconds = time.perf_counter() - start
        logs = _last_epoch(history.history, self.oracle.objective.name)
        if logs is None:
            lr = hp.values.get("learning_rate")
            raise TrialFailedError(
                f"Training did not produce a finite {self.oracle.objective.name} (loss became NaN"
                f"{f' with learning_rate={lr}' if lr is not None else ''}). The trial is failed and the "
                "search goes on; if it repeats, normalise the inputs or lower the learning rates."
            )
        self._save_model(model, trial)
        epochs = float(kwargs.get("initial_epoch", 0) + len(history.history.get("loss", [])))
        self.last_metrics = {**logs, **costs, "fit_seconds": fit_seconds, "epochs": epochs}
        return self.last_metrics

    def search(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        """Runs the search; on a distributed search's chief, serves the Oracle until every worker is done.

        A `MultiObjectiveOracle` is prepared first (its `prepare` hook, on
        the training data: the one-shot search trains its supernet and hands
        back the hypermodel the trials build from); on a worker, its `attach`
        hook gives that hypermodel before the first trial. A plain keras-tuner
        Oracle has neither hook, and its hypermodel is used as it is.
        """
        if isinstance(_kt_compat.local_oracle(self.oracle), MultiObjectiveOracle):
            if distributed.is_worker():
                self._attach_to = _fit_input(fit_args, fit_kwargs, 0)  # on the first trial: the chief has prepared by then
            else:
                self._prepare_oracle(fit_args, fit_kwargs)
        if not distributed.is_chief():
            super().search(*fit_args, **fit_kwargs)
            return
        self.oracle.verbose = fit_kwargs.get("verbose", 1)  # what keras-tuner's chief does
        self.save()
        rerun = self.oracle.rerun if isinstance(self.oracle, MultiObjectiveOracle) else None
        distributed.serve(
            self.oracle, on_trial_end=self._on_worker_trial_end, worker_timeout=self.worker_timeout, rerun=rerun,
        )

    def pre_create_trial(self) -> None:
        """On a worker the chief told to wait (keras-tuner's IDLE), waits a moment before asking again.

        The chief answers IDLE while other workers' trials run, since one of
        them may yet be lost and need training again (`tfnas.heartbeat`).
        keras-tuner's loop asks again at once after an IDLE answer; an answer
        that began no trial (`on_trial_begin` clears the mark) was IDLE.
        """
        if self._asked and distributed.is_worker():
            time.sleep(min(1.0, self.worker_timeout / 8))
        self._asked = True
        super().pre_create_trial()

    def _prepare_oracle(self, fit_args: tuple, fit_kwargs: dict[str, Any]) -> None:
        x, y = _fit_input(fit_args, fit_kwargs, 0), _fit_input(fit_args, fit_kwargs, 1)  # tfnas.search's training arrays
        hypermodel = self.oracle.prepare(
            self.hypermodel, x, y, validation_data=fit_kwargs.get("validation_data"), training=self.training,
            directory=self.project_dir,
        )
        self.hypermodel = self.pricer.hypermodel = hypermodel or self.hypermodel

    def _on_worker_trial_end(self, trial: kt.engine.trial.Trial) -> None:
        """On the chief: a worker ended `trial`; its failure message, if any, is in the shared folder."""
        path = os.path.join(self.get_trial_dir(trial.trial_id), FAILURE_FILENAME)
        if trial.status != kt.engine.trial.TrialStatus.COMPLETED and not trial.message and os.path.exists(path):
            with open(path) as f:
                trial.message = f.read()
        if self.callback is not None:
            self.callback.on_trial_end(self, trial)

    def _save_model(self, model: keras.Model, trial: kt.engine.trial.Trial) -> None:
        """Saves the trained model and its record (`model.json`: the values it was trained for, its bytes' hash), each atomically.

        `SearchResult.load` compares the record with `trial.json` and the
        file, so a model and a record from different runs are never paired.
        """
        path = self.model_path(trial.trial_id)
        with atomic.replacing(path) as temporary:
            model.save(temporary)
        record = {"values_sha256": atomic.values_sha256(trial.hyperparameters.values), "model_sha256": atomic.file_sha256(path)}
        atomic.write_json(os.path.join(self.get_trial_dir(trial.trial_id), MODEL_RECORD_FILENAME), record)

    def save(self) -> None:
        """keras-tuner's `save` (the oracle's state, then the tuner's), with the tuner's file written atomically."""
        if not distributed.is_worker():
            self.oracle.save()
        atomic.write_json(_kt_compat.tuner_file(self), self.get_state())

    def model_path(self, trial_id: str) -> str:
        """Where a trial's trained model is saved."""
        return os.path.join(self.get_trial_dir(trial_id), MODEL_FILENAME)

    def load_model(self, trial: kt.engine.trial.Trial) -> keras.Model:
        """The trained Keras 3 model of a trial (weights of its last epoch)."""
        return keras.models.load_model(self.model_path(trial.trial_id))

    def on_trial_begin(self, trial: kt.engine.trial.Trial) -> None:
        if not self._shared_directory_checked and distributed.is_worker():
            distributed.wait_for_shared_directory(self.project_dir)
            self._shared_directory_checked = True
        if self._attach_to is not None:
            oracle = _kt_compat.local_oracle(self.oracle)
            hypermodel = oracle.attach(self.hypermodel, self._attach_to, directory=self.project_dir)
            self.hypermodel = self.pricer.hypermodel = hypermodel or self.hypermodel
            self._attach_to = None
        self._asked = False
        self.last_metrics = {}
        super().on_trial_begin(trial)
        if self.callback is not None:
            self.callback.on_trial_begin(self, trial)

    def on_trial_end(self, trial: kt.engine.trial.Trial) -> None:
        if trial.status != kt.engine.trial.TrialStatus.COMPLETED and trial.message:
            # Written before the Oracle hears of the end, so the file is there when the trial is read back.
            atomic.write_text(os.path.join(self.get_trial_dir(trial.trial_id), FAILURE_FILENAME), trial.message)
        super().on_trial_end(trial)
        if self.callback is not None:
            self.callback.on_trial_end(self, trial)


def _adopt_search(project_dir: str) -> None:
    """Lets a distributed chief resume a search that ran in one process.

    keras-tuner reloads the Oracle only when the tuner's own state file
    (`chief.json` here, `tuner0.json` in one process) exists; without it the
    chief would start afresh and overwrite the trials already in the folder.
    """
    tuner_file = os.path.join(project_dir, f"{os.environ[distributed.TUNER_ID]}.json")
    if os.path.exists(os.path.join(project_dir, "oracle.json")) and not os.path.exists(tuner_file):
        atomic.write_text(tuner_file, "{}")  # a Tuner's whole state (keras-tuner's BaseTuner.get_state)


def _fit_input(fit_args: tuple, fit_kwargs: dict[str, Any], index: int) -> Any:
    """`x` (index 0) or `y` (index 1) of a `search` call, given by position or by name; None when absent."""
    return fit_args[index] if len(fit_args) > index else fit_kwargs.get(("x", "y")[index])


def _last_epoch(history: dict[str, list], objective: str) -> dict[str, float] | None:
    """The metrics of the last epoch trained, or None when the loss or the objective is not finite.

    Raises:
        kt.errors.FatalValueError: the objective is not among the training logs.
    """
    if not history.get("loss"):
        return None
    if objective not in history:
        raise kt.errors.FatalValueError(
            f"The objective {objective!r} is not among the training logs {sorted(history)}: "
            "pass validation data, or an objective that model.fit reports."
        )
    logs = {name: float(values[-1]) for name, values in history.items() if values}
    if any(math.isnan(v) for v in history["loss"]) or not math.isfinite(logs[objective]):
        return None
    return logs
