"""Data layer: sequences, pair tables, readers, named data sets, encoding for the model, seed-match typing."""
