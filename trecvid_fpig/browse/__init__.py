"""``fpig-trecvid browse``: a static site showing what runs retrieved, with keyframes and NIST's
judgments, that opens from disk (docs/browse.md)."""
