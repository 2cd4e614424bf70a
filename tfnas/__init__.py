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
from tfnas.compress import CompressionResult
from tfnas.compress import compress
from tfnas.cost.constraints import Constraints
from tfnas.errors import DistributedSearchError
from tfnas.errors import InfeasibleSearchError
from tfnas.errors import TfnasError
from tfnas.errors import TfnasInputError
from tfnas.errors import TrialFailedError
from tfnas.export import ExportReport
from tfnas.export import export
from tfnas.result import Candidate
from tfnas.result import SearchResult
from tfnas.search import search
from tfnas.tuner import EdgeTuner
from tfnas.verify import VerifyReport
from tfnas.verify import verify

__version__ = "0.1.0"

__all__ = [
    "Candidate",
    "CompressionResult",
    "Constraints",
    "DistributedSearchError",
    "EdgeTuner",
    "ExportReport",
    "InfeasibleSearchError",
    "SearchResult",
    "TfnasError",
    "TfnasInputError",
    "TrialFailedError",
    "VerifyReport",
    "compress",
    "cost",
    "distributed",
    "export",
    "oracles",
    "rewards",
    "search",
    "spaces",
    "verify",
]
