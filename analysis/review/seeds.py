"""Where the source documents of the study files are: :data:`SEEDS`.

The shared folder of source documents beside the repository (``../shared/seeds``), or the
folder named by ``REVIEW_SEEDS_DIR``.  Standard library only: the site build names it in its key
(``tools/build_site.py``) without importing the data layer.
"""
from __future__ import annotations

import os
from pathlib import Path

#: the shared folder of source documents, beside the repository (override: REVIEW_SEEDS_DIR)
SEEDS = Path(os.environ.get("REVIEW_SEEDS_DIR", Path(__file__).resolve().parents[3] / "shared" / "seeds"))
