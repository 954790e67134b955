"""Shot features from a checkpoint and a collection: ``fpig-trecvid features extract``."""
