"""`python -m tco.cli`, the same as `python -m tco`."""

from .entry import main

main()
