"""fpig-trecvid: evaluate text-to-video retrieval models on TRECVID Ad-hoc Video Search."""

__version__ = "0.1.0"
