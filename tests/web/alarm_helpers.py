"""Helpers shared by the alarm tests: a signed event payload of a device."""

from __future__ import annotations

import itertools
import json

from app.alarms import core
from app.models import utcnow

_ids = itertools.count(1)


def event_payload(device, *, code=130, q=1, zone="", kind=None, message_id=None,
                  ts=None) -> bytes:
    body = {"id": message_id or f"m{next(_ids)}", "ts": (ts or utcnow()).isoformat(), "q": q,
            "zone": zone}
    if kind:
        body["type"] = kind
    else:
        body["code"] = code
    body["sig"] = core.sign(device.secret, device.code, body)
    return json.dumps(body).encode()
