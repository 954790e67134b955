"""``run``: a checkpoint or topic features and a feature store in, TREC runs and NIST XML out.

``request`` checks what was asked and plans the topic sets, ``queries`` builds the topic features,
``single`` and ``fused`` search for one model or several, and ``commit`` writes each set's files
as one unit.
"""
