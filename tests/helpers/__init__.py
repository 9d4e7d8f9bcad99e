"""Helpers the tests import: params, IDX files, the end-to-end workspace."""
