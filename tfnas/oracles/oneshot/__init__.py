"""One-shot search (Once-for-All style): train one supernet, rank thousands of sub-networks, train the best as trials.

Before the first trial (`prepare`, called by `EdgeTuner.search`), the oracle
trains a weight-sharing supernet of the space (`tfnas.oneshot`) on the
search's training data with the search's recipe, then runs regularized
evolution over its sub-networks, each extracted with the shared weights,
priced exactly by the cost model and, within the constraints, scored on the
validation data. The ranked sub-networks are ordered by the search's reward
(for the Pareto reward: the front widened by the validation score's sampling
error, most accurate first and each next one the farthest from those taken,
then the rest front by front; `tfnas.oneshot.spread`), and the head of that order becomes
ordinary keras-tuner trials, which fine-tune from the inherited weights (or, with
`inherit=False`, train from scratch). The training hps (`learning_rate`) are
not architecture, so the supernet cannot rank them: trials that fine-tune
from the supernet take its learning rate; trials from scratch first train
the best-ranked sub-network with each learning rate, and the later ones use
the best trial's. So `SearchResult`, resume, `compress`,
`export` and `verify` work unchanged.

Budget: training the supernet costs `supernet_epochs` x (sub-networks per
step) single-model epochs, counted against `max_trials` x the search's
`epochs`; what is left buys trials of `trial_epochs` each (the search's
`epochs` unless set). The supernet checkpoint
and the ranked sub-networks are saved under the project's `oneshot/`, so a
killed search resumes without training or ranking again.

The package splits this by concept: `oracle` (`OneShotOracle`, the
strategy), `prepare` (the space and data it takes, the frame, building or
loading the supernet), `ranking` (ranking sub-networks, resumable from
`ranked.json`), `ordering` (which ranked sub-networks become trials, and in
what order) and `arguments` (its arguments, checked).
"""

from tfnas.oracles.oneshot.oracle import OneShotOracle
from tfnas.oracles.oneshot.ranking import RANKED_FILENAME
from tfnas.oracles.oneshot.ranking import read_records

__all__ = ["RANKED_FILENAME", "OneShotOracle", "read_records"]
