"""codbayes: Bayesian Clustering-On-Difficulty prediction of LLM benchmark scores."""

from codbayes._version import __version__
from codbayes.data.ladder import Ladder
from codbayes.errors import InputError
from codbayes.prediction import Prediction

__all__ = ["InputError", "Ladder", "Prediction", "__version__"]
