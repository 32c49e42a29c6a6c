"""The ``ironlb`` command line: validate, plan, lab."""
