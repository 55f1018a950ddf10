"""The Celery app, tasks and the `vitalis` command.

One BLAS thread per process: the nightly insights run parallelises over users, one worker process per
core, and its matrix products (days × metrics) are too small for BLAS threads to pay; threads on top of
the processes only fight over the same cores. Set here, in the package every worker process and the
`vitalis` command import first, so it is in place before numpy loads OpenBLAS; an explicit setting wins.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
