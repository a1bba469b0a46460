"""Stage 4, the model: the subtype prior, one calibrated LightGBM per organ, probability
intervals, the leakage audit, cross-fitting, and persistence (pickle-free bundles, loading
from a registry, the MLflow pyfunc). Imports the stages below."""
