"""Stage 6, evaluation: within-type metrics, fidelity, mechanism replication, decision
curves, subgroups and a model on a cohort it never saw. Imports the stages below."""
