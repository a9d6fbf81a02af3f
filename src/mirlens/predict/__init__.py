"""Prediction: scoring pairs and scanning targets with a loaded model."""
