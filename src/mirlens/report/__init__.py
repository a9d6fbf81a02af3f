"""Report layer: figures and HTML pages drawn from the tables that the analyses compute (it never computes one)."""
