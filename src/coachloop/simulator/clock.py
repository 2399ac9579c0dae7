"""Local program time to UTC, vectorised.

Contacts are drawn in the program's local day (volume follows the local working day), and
written in UTC with an explicit +00:00 offset, as CONTRACTS asks.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np

EPOCH = date(1970, 1, 1)


def hourly_offsets(tz: ZoneInfo, day: date) -> np.ndarray:
    """UTC offset (seconds) of each local hour of the day.

    Per hour rather than per day so a daylight-saving change is honoured: a repeated local hour
    takes the earlier instant (fold=0), as the importer does; a skipped hour maps forward.
    """
    offsets = []
    for hour in range(24):
        offset = datetime(day.year, day.month, day.day, hour, tzinfo=tz).utcoffset()
        offsets.append(int(offset.total_seconds()) if offset is not None else 0)
    return np.array(offsets, dtype=np.int64)


def local_to_epoch(tz: ZoneInfo, day: date, local_s: np.ndarray) -> np.ndarray:
    """Seconds since the Unix epoch (UTC) of local times given as seconds after local midnight."""
    local_s = np.clip(local_s.astype(np.int64), 0, 86399)
    midnight = (day - EPOCH).days * 86400
    return np.asarray(midnight + local_s - hourly_offsets(tz, day)[local_s // 3600])


def iso_utc(epoch_s: np.ndarray) -> list[str]:
    """2026-03-02T09:14:05+00:00 for each epoch second."""
    text = np.datetime_as_string(epoch_s.astype("datetime64[s]"), unit="s")
    return [t + "+00:00" for t in text.tolist()]


def iso_one(epoch_s: int) -> str:
    return iso_utc(np.array([epoch_s], dtype=np.int64))[0]
