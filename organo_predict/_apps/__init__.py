"""Stage 7, what a user runs: experiment configs and runs, MLflow tracking, reports and the
model card, batch scoring (local, Spark), the served endpoint and the commands behind the
CLI. Imports the stages below; nothing imports it but `cli` and the package's lazy names."""
