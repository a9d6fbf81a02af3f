"""Report layer: figures drawn from the tables that the analysis modules compute."""
