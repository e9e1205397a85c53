"""The ``certsvc`` command line: thin commands over ``certsvc.lifecycle``."""
