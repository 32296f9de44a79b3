"""Before a role starts anything: its Kafka answers, and accepts the credentials given."""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from fleetedge.logs import KAFKA_LOGGER
from fleetedge.roles.config import KafkaAccess
from fleetedge.roles.exceptions import UnreachableError
from fleetedge.security.clients import ClientAuth

LOOK_S = 15.0
_quiet = logging.getLogger(KAFKA_LOGGER)  # reaches no terminal unless DEBUG


def reach(access: KafkaAccess, auth: ClientAuth | None, *, what: str) -> int:
    """The number of brokers of the cluster ``access`` names, reached as ``auth``.

    UnreachableError naming ``what`` (the file's section) when no broker answers within
    LOOK_S, or the brokers refuse the login or the TLS handshake.
    """
    refused: list[str] = []

    def on_error(error: KafkaError) -> None:
        if error.code() in (KafkaError._AUTHENTICATION, KafkaError._SSL):
            refused.append(error.str())

    config: dict[str, Any] = {
        "bootstrap.servers": access.bootstrap,
        "error_cb": on_error,
        "logger": _quiet,
        "socket.connection.setup.timeout.ms": int(LOOK_S * 1000),
    }
    if auth is not None:
        config |= auth.librdkafka()
    client = AdminClient(config)
    try:
        brokers = len(client.list_topics(timeout=LOOK_S).brokers)
    except KafkaException as exc:
        client.poll(1.0)  # serves the error callbacks: was it a refusal?
        if refused:
            user = f" as {auth.username}" if auth else ""
            raise UnreachableError(
                f"{what}: {access.bootstrap} refused the login{user}: {_reason(refused[-1])}",
                hint="check the username, the password file and the CA",
            ) from exc
        raise UnreachableError(
            f"{what}.bootstrap: no broker answered at {access.bootstrap} in {LOOK_S:.0f}s",
            hint="check the address, and that the cluster is up",
        ) from exc
    client.poll(0)
    if refused:  # metadata from a broker that then refused: treat as refused
        raise UnreachableError(f"{what}: {access.bootstrap} refused: {_reason(refused[-1])}")
    return brokers


def _reason(text: str) -> str:
    """librdkafka's error, to its first sentence (it appends the broker's whole story)."""
    return text.split(": ", 1)[-1].split(" (after ", 1)[0].strip()
