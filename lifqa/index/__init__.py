"""The on-disk index: a folder of plain files (npy, json, SQLite, FAISS) plus a manifest.

Importing this package imports nothing: the query side (store, bm25, dense, layout) and the
build side (build, its caches, ray_build) are imported by name, so opening an index never loads
the readers, the reference libraries or the build.
"""
