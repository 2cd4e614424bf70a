"""tfnas: hardware-aware neural architecture search for phones and microcontrollers.

Keras 3 models in and out; keras-tuner proposes and trains, tfnas's Oracle
scores accuracy against cost under hard limits. Importing tfnas does not
import TF-MOT and does not change what `tf.keras` is.
"""

from tfnas import _compat  # noqa: F401  (first: quiets TensorFlow start-up before it is imported)
from tfnas import cost
from tfnas import distributed
from tfnas import oracles
from tfnas import rewards
from tfnas import spaces
from tfnas.cost.constraints import Constraints
from tfnas.errors import DistributedSearchError
from tfnas.errors import InfeasibleSearchError
from tfnas.errors import TfnasError
from tfnas.errors import TfnasInputError
from tfnas.errors import TrialFailedError
from tfnas.result import Candidate
from tfnas.result import SearchResult
from tfnas.search import search
from tfnas.tuner import EdgeTuner

__version__ = "0.1.0"

__all__ = [
    "Candidate",
    "Constraints",
    "DistributedSearchError",
    "EdgeTuner",
    "InfeasibleSearchError",
    "SearchResult",
    "TfnasError",
    "TfnasInputError",
    "TrialFailedError",
    "cost",
    "distributed",
    "oracles",
    "rewards",
    "search",
    "spaces",
]
