"""Entry point: ``python -m tests.moderation_eval [-v]`` prints the moderation evaluation."""

import sys

from tests.moderation_eval import main

raise SystemExit(main(sys.argv[1:]))
