"""Stage 5, explanations: exact TreeSHAP engines, marker-level drivers matched to the
mechanism knowledge base, and shap.Explanation objects. Imports the stages below."""
