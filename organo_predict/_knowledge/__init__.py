"""Stage 2, domain knowledge: the declarative TOML under features/ (markers, gene sets,
leakage rules, the cited mechanism knowledge base) parsed through strict schemas, and the
registry of feature-name kinds. Imports `_base` and `_cohort` (the reference panels the
knowledge base is checked against)."""
