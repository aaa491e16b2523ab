"""Bulk case injectors shared by the demo generator and the benchmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["mark_self_approval"]


def mark_self_approval(ent: pd.DataFrame, n: int, rng: np.random.Generator,
                       names: pd.Series | None = None) -> np.ndarray:
    """Make ``n`` distinct beneficiaries self-approved (in place): the handler of one of
    their entitlement rows is their own ID and, when ``names`` (person_id -> name) is
    given, the approver their own name.

    Returns the chosen person ids (``SELF_APPROVAL`` truth), at most the number of
    distinct persons in ``ent``. Vectorised.
    """
    if n <= 0 or ent.empty:
        return np.array([], dtype=object)
    first = ent.drop_duplicates("person_id")
    pick = rng.choice(len(first), size=min(n, len(first)), replace=False)
    idx = first.index[np.sort(pick)]
    ids = ent.loc[idx, "person_id"].astype("string")
    for col in ("handler", "approver"):
        if col not in ent:
            ent[col] = pd.Series(pd.NA, index=ent.index, dtype="string")
        ent[col] = ent[col].astype("string")
    ent.loc[idx, "handler"] = ids.to_numpy()
    if names is not None:
        ent.loc[idx, "approver"] = ids.map(names).to_numpy()
    return ids.to_numpy()
