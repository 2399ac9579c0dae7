"""Named, independent random streams.

Every stream is derived from (--seed, purpose, key...) through numpy's SeedSequence, so one agent's
life or one program-day's contacts never depend on how many numbers another part drew. That keeps
the files byte-identical for the same arguments and makes a placebo run differ from an effect run
only where the effect itself changes outcomes.
"""

from __future__ import annotations

import numpy as np

WORLD = 0  # organization, teams, names, team moves
AGENT = 1  # one agent's skills and life: schedule, absences, coaching, attrition
HIRE = 2  # when a leaver's replacement starts
DAY = 3  # one program-day's contacts
CALIBRATION = 4  # raters' leanings in one calibration session
EXPECTATION = 5  # the fixed sample used to turn skill changes into metric changes


def stream(seed: int, purpose: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, purpose, *key])))
