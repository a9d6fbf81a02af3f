"""Gene-level target prediction on whole 3'UTRs: candidate sites by seed-match typing, site-centred windows,
aggregation over sites and a calibrator fitted by cross-validation (see :mod:`mirlens.genes.predict`)."""
