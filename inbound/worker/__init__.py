"""The rules worker: consumes accepted messages and records an outcome or a review item."""
