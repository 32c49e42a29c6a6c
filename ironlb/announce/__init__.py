"""Announcement decisions: what each node announces, by which protocol, and why not.

Pure functions only (no I/O): the speaker runs them on every change, and
``ironlb plan`` runs the same functions over manifests.
"""
