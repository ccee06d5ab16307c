"""The docling driver: docling-serve's RQ worker, replayed through docling-memprof's protocol.

``python -m memprof_docling`` (with ``workers/`` on ``PYTHONPATH``) is started by
``docling-memprof replay W.json --worker docling`` as the worker process of a replay. Each job
runs through docling-jobkit's real ``docling_task`` with the RQ job and its Redis connection
replaced by a stub (``task``); the cache is cleared as the seed's worker does (``clearing``);
snapshots come from inside the process: ``/proc/self``, the allocator really loaded
(``allocators``), Python's ``gc`` census (``pycensus``), tracemalloc sites (``tracing``) and
owner chains of the growing types at the end (``owners``).

It needs docling and docling-jobkit (``scripts/setup-docling.sh``); ``check`` says what is
missing; ``standin`` generates stand-in layout weights when no real ones are there.
"""
