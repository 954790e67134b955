"""NIST TRECVID AVS topics, qrels and collection lists shipped with fpig-trecvid.

Installed as the package ``trecvid_fpig.shipped`` so that both source checkouts and installed
wheels find the files through :mod:`importlib.resources`.
"""
