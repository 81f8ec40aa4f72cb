"""Service rule files and the pure rule engine: model, loading, normalisation and matching."""
