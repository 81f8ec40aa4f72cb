"""`python -m inbound`: the same command where the package is on the path but not installed
(Cloud Foundry's buildpack installs the hashed lock file, not the project itself)."""

import sys

from inbound.cli import main

sys.exit(main())
