"""The external ground truth beside the checkout: shared material, not part of it, so a test that needs a
folder of it is skipped, saying which, in a checkout without it."""

from pathlib import Path

import pytest

EXTERNAL = Path(__file__).resolve().parents[2].parent / "shared" / "external"


def external(folder: str) -> Path:
    """``../shared/external/<folder>``, or the test skipped naming it."""
    path = EXTERNAL / folder
    if not path.is_dir():
        pytest.skip(f"needs ../shared/external/{folder}/ (third-party recordings): no {path}")
    return path
