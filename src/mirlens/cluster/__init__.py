"""Running mirlens jobs on a Dask cluster (``--cluster SPEC``): the same commands, scaled out.

* :mod:`mirlens.cluster.engine` opens the cluster (``local:N`` or ``tcp://HOST:PORT``), gives every worker process
  its model once (loaded there, cached per process, never shipped per task), and runs a job's partitions: each task
  writes its partitions into the job's chunk directory (:class:`mirlens.tables.ChunkStore`, atomic Parquet files)
  while the driver keeps the manifest and skips partitions already written, so a rerun after an interruption
  computes only what is missing.
* :mod:`mirlens.cluster.jobs` cuts the work of ``score``, ``predict``, ``predict-genes`` and ``explain scan`` into
  partitions whose results, put back together in partition order, are the single-machine results.

Nothing here is imported on the single-machine path: Dask is only loaded when a cluster is asked for.
"""
