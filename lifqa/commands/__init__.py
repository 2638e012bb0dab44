"""What each ``lifqa`` subcommand does once its arguments are parsed, one module per stage.

``lifqa.cli`` builds the parser and calls these; each command imports its stage when it runs,
so ``lifqa ask`` never loads the build side. ``index``: build and check an index; ``query``: ask,
search, sources, conflicts and batch; ``evaluation``: eval; ``training``: the train commands and
calibrate; ``serve``: the HTTP and MCP servers. ``options`` and ``progress`` serve several of them.
"""

from __future__ import annotations

import os

DEFAULT_INDEX = os.environ.get("LIFQA_INDEX", "indexes")
DEFAULT_CORPUS = os.environ.get("LIFQA_CORPUS", "corpus")
