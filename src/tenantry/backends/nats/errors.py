"""NATS driver errors translated once, at the seam, into the bus's errors (cause chained)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import nats
from nats.js.errors import APIError, NoStreamResponseError, NotFoundError

from tenantry.core.errors import TooLarge
from tenantry.runtime.messaging.errors import BusUnavailable

STREAM_FULL: Final = frozenset({10077, 10078, 10047})  # messages, bytes, storage exhausted
TOO_LARGE: Final = 10054  # larger than the stream's max_msg_size

_LOST = (
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
    OSError,
    TimeoutError,
)


class NotProvisioned(BusUnavailable):
    """No stream or consumer for the tenant environment (yet): the controller makes them."""

    code = "messaging.not_provisioned"


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Run a NATS call; its failures as :class:`BusUnavailable` (503) naming ``what``."""
    try:
        yield
    except (NoStreamResponseError, NotFoundError) as error:
        raise NotProvisioned(f"{what}: not provisioned on NATS ({error})") from error
    except APIError as error:
        raise _api(what, error) from error
    except _LOST as error:
        raise BusUnavailable(f"{what}: NATS is unavailable ({type(error).__name__})") from error


def _api(what: str, error: APIError) -> Exception:
    if error.err_code in STREAM_FULL:
        return BusUnavailable(
            f"{what}: the stream is full ({error.description}); nothing was discarded",
            code="messaging.stream_full",
        )
    if error.err_code == TOO_LARGE:
        return TooLarge(f"{what}: the message is larger than the stream allows")
    return BusUnavailable(f"{what}: NATS refused ({error.description})")
