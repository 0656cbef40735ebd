"""Results folders: layout, manifest, atomic writing, the one writer and reader, resume.

Owns the on-disk format of ``results/<scenario>/<timestamp>/``: what is written, how
it is staged and renamed into place so that no folder is ever half-written, how it is
read back, and how an interrupted run is finished. Imports from ``experiment`` and below.
"""
