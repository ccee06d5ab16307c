"""``python -m memprof_docling``: the driver's entry point (see ``driver.main``)."""

import sys

from memprof_docling.driver import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
