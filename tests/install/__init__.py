"""Tests of the install: kustomize manifests, schemas, RBAC against the code's API calls, samples."""
