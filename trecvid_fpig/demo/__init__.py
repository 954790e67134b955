"""``demo``: a random checkpoint (``checkpoints``) and a synthetic collection holding a real pool
(``collection``), so the whole pipeline runs offline and the tests build towers like the real ones.
"""
