"""Distributed search on keras-tuner's chief/worker engine: roles, the chief's server, worker checks.

keras-tuner's distributed mode runs the same script in every process. The
environment decides the role: `KERASTUNER_TUNER_ID` (`chief`, or a worker id
such as `tuner0`), `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT` (where
the chief listens and the workers connect). The chief serves the Oracle with
keras-tuner's own gRPC service (`OracleServicer`); the workers' Tuners talk to
it through keras-tuner's `OracleClient` and train.

tfnas uses that service and client unchanged. It replaces only the chief's
serving loop (keras-tuner's `oracle_chief.start_server`, 20
lines), which polls for the end every 20 seconds and keeps waiting forever
when the Oracle raises (for example `InfeasibleSearchError`, or the
consecutive-failures limit): `serve` polls every 0.2 seconds, re-raises the
Oracle's error on the chief and tells the workers why the search stopped.
It also watches the workers (`tfnas.heartbeat`): a silent worker's trial
goes to another, idle workers wait while a trial may yet be lost, and the
chief stops with an error when a lost trial has no worker left.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import time
from collections.abc import Callable
from collections.abc import Iterator
from concurrent import futures
from typing import Any

from tfnas import _kt_compat
from tfnas.errors import DistributedSearchError
from tfnas.errors import TfnasInputError
from tfnas.heartbeat import Watch

logger = logging.getLogger(__name__)

TUNER_ID = "KERASTUNER_TUNER_ID"
ORACLE_IP = "KERASTUNER_ORACLE_IP"
ORACLE_PORT = "KERASTUNER_ORACLE_PORT"


def role() -> str | None:
    """`"chief"`, `"worker"`, or `None` outside distributed mode (keras-tuner's rules).

    Raises:
        TfnasInputError: `KERASTUNER_ORACLE_IP` is set without the port or the tuner id.
    """
    if ORACLE_IP not in os.environ:
        return None
    for name in (ORACLE_PORT, TUNER_ID):
        if not os.environ.get(name):
            raise TfnasInputError(
                f"{ORACLE_IP} is set, so this is a distributed search, but {name} is not: set {ORACLE_PORT} "
                f"(the chief's port) and {TUNER_ID} ('chief' on the chief, a unique id such as 'tuner0' on "
                f"each worker), or unset {ORACLE_IP} to search in one process."
            )
    return "chief" if "chief" in os.environ[TUNER_ID] else "worker"


def is_chief() -> bool:
    """True in the chief process of a distributed search."""
    return role() == "chief"


def is_worker() -> bool:
    """True in a worker process of a distributed search."""
    return role() == "worker"


def address() -> str:
    """The chief's `host:port`, as keras-tuner binds and dials it."""
    return f"{os.environ[ORACLE_IP]}:{os.environ[ORACLE_PORT]}"


def serve(
    oracle: Any, on_trial_end: Callable[[Any], None] | None = None, poll_seconds: float = 0.2, worker_timeout: float = 300.0,
    rerun: dict[str, str] | None = None,
) -> None:
    """Serves `oracle` to the workers with keras-tuner's gRPC service until the search ends.

    Returns once the Oracle has answered STOPPED to every worker it knows and no trial
    is running, as keras-tuner's own `start_server` does.

    Args:
        oracle: the `kt.Oracle` of the chief.
        on_trial_end: called on the chief with each trial as it ends (progress lines).
        poll_seconds: float, how often the end of the search is checked.
        worker_timeout: float, silence after which a worker's trial goes to
            the next worker that asks (`tfnas.heartbeat`).
        rerun: dict where lost trials are recorded (trial id -> why), a
            `MultiObjectiveOracle`'s `rerun`; None keeps the record for this run only.

    Raises:
        DistributedSearchError: the chief cannot listen on its address, or a
            lost trial waits and no worker is left to train it.
        Exception: whatever the Oracle raised while creating or ending a trial.
    """
    import grpc

    _warn_if_public(os.environ[ORACLE_IP])
    # No SO_REUSEPORT: a second chief on the same port must fail here, not split the workers.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1), options=[("grpc.so_reuseport", 0)])
    servicer = _servicer_class()(oracle, Watch(oracle, worker_timeout, rerun=rerun))
    _kt_compat.protos().get_service_grpc().add_OracleServicer_to_server(servicer, server)
    try:
        server.add_insecure_port(address())
    except RuntimeError as e:
        raise DistributedSearchError(
            f"The chief cannot listen on {address()}: the port is in use or the address is not this "
            f"machine's. Pick a free {ORACLE_PORT}, and set {ORACLE_IP} to 127.0.0.1 or one of this "
            "machine's private addresses."
        ) from e
    server.start()
    # Read without keras-tuner's `synchronized` lock: it is never released when the wrapped call raises.
    reported = len(oracle.end_order)
    try:
        while True:
            time.sleep(poll_seconds)
            ended = oracle.end_order[reported:]
            reported += len(ended)
            for trial_id in ended:
                if on_trial_end is not None:
                    on_trial_end(oracle.trials[trial_id])
            if servicer.error is not None:
                raise servicer.error
            servicer.watch.requeue_silent()
            servicer.watch.check_workers()
            if servicer.stop_triggered and not oracle.ongoing_trials and not oracle.tuner_ids:
                return
    finally:
        server.stop(grace=2).wait()  # in-flight answers (the last STOPPED) still reach the workers


def wait_for_shared_directory(project_dir: str, timeout_seconds: float = 30.0) -> None:
    """Checks, on a worker, that the run directory is the chief's (its `oracle.json` is there).

    Raises:
        DistributedSearchError: the chief's `oracle.json` did not appear within the timeout.
    """
    path = os.path.join(project_dir, "oracle.json")
    deadline = time.monotonic() + timeout_seconds
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise DistributedSearchError(
                f"Worker {os.environ.get(TUNER_ID)} does not see the chief's run directory: {path} is missing. "
                "Workers save the trained models there and the chief reads them back: mount the same shared "
                "folder on every machine and pass the same directory= and project_name= everywhere."
            )
        time.sleep(1.0)


@contextlib.contextmanager
def worker_errors() -> Iterator[None]:
    """Turns a failed call to the chief into a `DistributedSearchError` that says what to check."""
    import grpc

    try:
        yield
    except grpc.RpcError as e:
        details = (e.details() if hasattr(e, "details") else str(e)).rstrip(".")
        if hasattr(e, "code") and e.code() == grpc.StatusCode.ABORTED:
            raise DistributedSearchError(f"Worker {os.environ.get(TUNER_ID)}: {details}.") from None
        raise DistributedSearchError(
            f"Worker {os.environ.get(TUNER_ID)} lost the chief at {address()} ({details}). The chief stopped "
            "(see its output) or cannot be reached; run the same command again to resume the search."
        ) from None


def quiet_keras_tuner() -> None:
    """Silences keras-tuner's stray `print` of hyperparameter conditions (`_kt_compat.silence_condition_print`)."""
    _kt_compat.silence_condition_print()


def _servicer_class() -> type:
    servicer: Any = _kt_compat.oracle_servicer_class()  # (a class from untyped keras-tuner: mypy takes no call as a base)

    class ChiefServicer(servicer):
        """keras-tuner's servicer; an Oracle error stops the search instead of hanging the chief."""

        def __init__(self, oracle: Any, watch: Watch):
            super().__init__(oracle)
            self.watch = watch
            self.error: BaseException | None = None

        def CreateTrial(self, request: Any, context: Any) -> Any:  # noqa: N802  (gRPC's method names)
            return self._guard(self._create_trial, request, context)

        def _create_trial(self, request: Any, context: Any) -> Any:
            """keras-tuner's `CreateTrial`, with the Watch's answer: IDLE while another trial may yet be lost."""
            trial = self.watch.create_trial(request.tuner_id)
            if trial.status == "STOPPED":
                self.stop_triggered = True
            return _kt_compat.protos().get_service().CreateTrialResponse(trial=trial.to_proto())

        def GetTrial(self, request: Any, context: Any) -> Any:  # noqa: N802  (a worker's heartbeat)
            self.watch.hear(request.trial_id)
            return super().GetTrial(request, context)

        def EndTrial(self, request: Any, context: Any) -> Any:  # noqa: N802
            self.watch.hear(request.trial.trial_id)
            return self._guard(super().EndTrial, request, context)

        def _guard(self, method: Callable, request: Any, context: Any) -> Any:
            import grpc

            if self.error is None:
                try:
                    return method(request, context)
                except Exception as e:  # noqa: BLE001  (any Oracle error ends a local search too)
                    self.error = e
            context.abort(grpc.StatusCode.ABORTED, f"the chief stopped the search: {type(self.error).__name__}: {self.error}")

    return ChiefServicer


def _warn_if_public(host: str) -> None:
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
        private = (ip.is_loopback or ip.is_private) and not ip.is_unspecified  # 0.0.0.0 binds every interface
    except ValueError:
        private = host == "localhost"  # a host name may resolve to a public address
    if not private:
        logger.warning(
            "The chief listens on %s, which is not only a loopback or private address. keras-tuner's gRPC channel "
            "has no authentication or encryption: anyone who reaches this port can read and steer the search. "
            "Bind a private address and firewall the port (README, 'Scaling out').",
            address(),
        )
