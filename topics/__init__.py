"""NIST TRECVID AVS topics, qrels and collection lists shipped with fpig-trecvid.

A wheel installs this folder as ``trecvid_fpig/shipped``; :mod:`trecvid_fpig.formats.shipped` finds
the files there or in a source checkout.
"""
