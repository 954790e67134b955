"""The paper's fixed settings: Table S1's years and the recall settings and cut-offs of Table S2.

Both the manifest (what a user asks to reproduce) and the published numbers (what it is compared
with) check against these, so they live below both.
"""
S1_YEARS = ("tv19", "tv20", "tv21", "tv22", "tv23")
#: The R@K settings of Table S2: MSR-VTT 1k-A test split and the full 3k test set.
RECALL_SETTINGS = ("msrvtt-1k", "msrvtt-3k")
RECALL_KS = ("R@1", "R@5", "R@10")
