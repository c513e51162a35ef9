"""The ``tenantry`` command line: parse, one service call, render."""
