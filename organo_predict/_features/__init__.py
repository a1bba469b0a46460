"""Stage 3, features: `FeatureBuilder` and what it reads from a cohort (mutation index,
receptor status, mutation signals), and JSON patient profiles made into the same cohort.
Imports `_base`, `_cohort`, `_knowledge`."""
