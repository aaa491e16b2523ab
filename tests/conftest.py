"""Session set-up shared by every test: no test ever writes a district ledger.

``ONECARD_LEDGER`` (the default ``--ledger``) points at a temporary file of this
test process; it is set at import so CLI subprocesses inherit it too. Tests that
check the ledger pass their own ``--ledger`` / ``ledger=``.
"""

import os
import tempfile
from pathlib import Path

os.environ["ONECARD_LEDGER"] = str(Path(tempfile.mkdtemp(prefix="onecard-test-ledger-")) / "ledger.sqlite")
