"""The link's Connect and MirrorMaker 2 configuration, sequence audit and heartbeat decoding:
pure functions."""

from __future__ import annotations

import dataclasses
import re
import struct

import pytest

from fleetedge.devices.synthetic import window
from fleetedge.events import JSON, topics
from fleetedge.link.audit import audit
from fleetedge.link.connect import ConnectSettings, worker_properties
from fleetedge.link.connectors import uplink_config, uplink_configs
from fleetedge.link.health import decode_heartbeat
from fleetedge.link.mirror import (
    BULK,
    DOWNLINK,
    PRIORITY,
    LinkEndpoints,
    commands_topic,
    mirror_properties,
    with_telemetry,
)
from fleetedge.link.shaper import MAX_IDENT, LinkShaper, _parse_bytes, _parse_kbit, ident_for
from fleetedge.runtime.ports import _allowed

ENDS = LinkEndpoints("vessel-7", "127.0.0.1:1", "127.0.0.1:2")


def _topics(props: dict[str, str], key: str) -> list[str]:
    pattern = props[key]
    names = [s.name for s in topics.VESSEL_TOPICS] + ["heartbeats", commands_topic("vessel-7")]
    return [n for n in names if any(re.fullmatch(p, n) for p in pattern.split(","))]


def test_the_connect_cluster_is_exactly_once_with_byte_converters_and_shore_topics() -> None:
    props = worker_properties(ConnectSettings("127.0.0.1:2", 3), rest_port=18200)
    assert props["exactly.once.source.support"] == "enabled"
    assert props["bootstrap.servers"] == "127.0.0.1:2"
    for kind in ("key", "value", "header"):
        assert props[f"{kind}.converter"].endswith("ByteArrayConverter")
    for kind in ("config", "offset", "status"):
        assert props[f"{kind}.storage.replication.factor"] == "3"
    assert props["listeners"] == "http://127.0.0.1:18200"
    # A dead worker's tasks move within seconds, not Connect's default five minutes.
    assert int(props["scheduled.rebalance.max.delay.ms"]) <= 30_000


def test_uplinks_are_exactly_once_read_committed_and_never_skip() -> None:
    for flow in (PRIORITY, BULK):
        props = uplink_config(ENDS, flow)
        assert props["exactly.once.support"] == "required"
        assert props["source.consumer.isolation.level"] == "read_committed"
        assert props["source.cluster.alias"] == "vessel-7"
        assert props["target.cluster.bootstrap.servers"] == "127.0.0.1:2"
        # No offset-syncs topic at all: ashore it would be one topic shared by every vessel.
        assert props["emit.offset-syncs.enabled"] == "false"
        assert not [k for k in props if "offset-syncs.topic" in k]
        assert props["errors.tolerance"] == "none"


def test_uplinks_send_the_codec_of_the_topics_they_write_so_the_shore_never_recompresses() -> None:
    specs = {spec.name: spec for spec in topics.VESSEL_TOPICS}
    for flow in (PRIORITY, BULK, with_telemetry(BULK)):
        props = uplink_config(ENDS, flow)
        mirrored = [name for name in _topics(props, "topics") if name in specs]
        codecs = {specs[name].config["compression.type"] for name in mirrored}
        assert codecs - {"producer"} == {props["producer.override.compression.type"]}


def test_alerts_and_aggregates_travel_in_separate_connectors() -> None:
    configs = uplink_configs(ENDS)
    assert sorted(configs) == ["vessel-7.bulk", "vessel-7.priority"]
    priority = _topics(configs["vessel-7.priority"], "topics")
    bulk = _topics(configs["vessel-7.bulk"], "topics")
    assert topics.ALERTS.name in priority
    assert topics.AGGREGATES.name not in priority
    assert bulk == [topics.AGGREGATES.name]
    assert topics.TELEMETRY.name in _topics(uplink_config(ENDS, with_telemetry(BULK)), "topics")
    # Only the priority flow carries the heartbeats back, so they are not mirrored twice.
    assert configs["vessel-7.bulk"]["heartbeats.replication.enabled"] == "false"
    # A fetch of the priority flow holds at most 2 KiB of any one partition, so the batches of
    # one record an outage leaves (statuses, heartbeats) do not fill it ahead of the alert.
    assert configs["vessel-7.priority"]["source.consumer.max.partition.fetch.bytes"] == "2048"
    assert configs["vessel-7.priority"]["source.consumer.fetch.max.bytes"] == "16384"
    assert configs["vessel-7.bulk"]["source.consumer.max.partition.fetch.bytes"] == "65536"
    assert configs["vessel-7.priority"]["heartbeats.replication.enabled"] == "true"
    # Each listing of the vessel's topics crosses the link (3-4 kB): the priority flow lists
    # every 10 s, so a joining vessel's status comes ashore with its first windows; the bulk
    # flow and the downlink every minute.
    assert configs["vessel-7.priority"]["refresh.topics.interval.seconds"] == "10"
    assert configs["vessel-7.bulk"]["refresh.topics.interval.seconds"] == "60"
    downlink = mirror_properties(ENDS, DOWNLINK, rest_port=1)
    assert downlink[f"shore->{ENDS.vessel}.refresh.topics.interval.seconds"] == "60"


def test_a_vessels_secret_stays_in_a_file_the_workers_read(tmp_path) -> None:
    jaas = 'ScramLoginModule required username="vessel-7" password="s3cret";'
    secured = LinkEndpoints(
        "vessel-7",
        "127.0.0.1:1",
        "127.0.0.1:2",
        shore_security={"security.protocol": "SASL_SSL", "sasl.jaas.config": jaas},
        vessel_security={"security.protocol": "SASL_SSL", "sasl.jaas.config": jaas},
    )
    props = uplink_config(secured, PRIORITY, tmp_path / "vessel-7.properties")
    assert "s3cret" not in repr(props)
    for prefix in ("source.cluster.", "target.cluster.", "producer.override.",
                   "admin.override.", "consumer.override."):  # fmt: skip
        assert props[f"{prefix}security.protocol"] == "SASL_SSL"
        assert props[f"{prefix}sasl.jaas.config"].startswith("${file:")


def test_downlink_waits_out_an_outage_and_writes_no_syncs() -> None:
    props = mirror_properties(ENDS, DOWNLINK, rest_port=1)
    assert _topics(props, "shore->vessel-7.topics") == [commands_topic("vessel-7")]
    assert props["vessel-7.producer.delivery.timeout.ms"] == str(2**31 - 1)
    assert props["shore->vessel-7.emit.offset-syncs.enabled"] == "false"
    assert props["shore->vessel-7.emit.heartbeats.enabled"] == "true"
    assert props["vessel-7->shore.enabled"] == "false"


def test_link_clients_do_not_rebootstrap_in_a_loop() -> None:
    props = mirror_properties(ENDS, DOWNLINK, rest_port=1)
    for client in ("consumer", "producer", "admin"):
        assert props[f"vessel-7.{client}.metadata.recovery.strategy"] == "none"
    uplink = uplink_config(ENDS, BULK)
    for client in ("consumer", "admin"):
        assert uplink[f"source.{client}.metadata.recovery.strategy"] == "none"


def test_the_commands_topic_is_not_taken_for_the_vessels_own() -> None:
    # DefaultReplicationPolicy reads the part before the first dot as the source cluster.
    assert commands_topic("vessel-7").split(".")[0] != "vessel-7"


def test_audit_finds_gaps_duplicates_and_order() -> None:
    values = [JSON.encode(window("vessel-7", "ABCU0000001", s)) for s in (1, 2, 3, 7, 7, 5, 8)]
    report = audit("vessel-7.reefer.aggregates", values)
    assert report.records == 7
    assert report.gaps() == {"reefer.window:vessel-7/ABCU0000001": [(4, 4), (6, 6)]}
    assert report.missing == 2
    assert report.duplicates == 1
    assert report.out_of_order == 1
    assert "2 missing" in report.summary()
    assert "4..4" in report.summary()


def test_audit_of_a_complete_stream_says_so() -> None:
    values = [JSON.encode(window("vessel-7", "ABCU0000001", s)) for s in range(1, 51)]
    values.append(b"not an event")
    report = audit("t", values)
    assert report.missing == 0
    assert report.undecodable == 1
    assert "complete" in report.summary()


def test_heartbeat_values_decode_to_their_emit_time() -> None:
    assert decode_heartbeat(struct.pack(">hq", 0, 1_795_848_666_163)) == 1_795_848_666_163


@pytest.mark.parametrize(
    ("text", "kbps"), [("64Kbit", 64), ("2Mbit", 2000), ("64000bit", 64), ("512kbit", 512)]
)
def test_tc_rates_parse(text: str, kbps: int) -> None:
    assert _parse_kbit(text) == kbps


@pytest.mark.parametrize(
    ("text", "size"), [("0b", 0), ("1514b", 1514), ("12Kb", 12_288), ("3Mb", 3_145_728)]
)
def test_tc_backlogs_parse(text: str, size: int) -> None:
    assert _parse_bytes(text) == size


def test_shaper_idents_are_bounded() -> None:
    with pytest.raises(ValueError, match="ident"):
        LinkShaper(0, [1])
    with pytest.raises(ValueError, match="ident"):
        LinkShaper(0x8000, [1])


def test_every_port_a_fleet_may_use_names_a_shaper_of_its_own() -> None:
    # `lo`'s shaping is the machine's: two fleets' links must never share a class. Each link
    # is named after its first proxy port, which only one process holds at a time.
    usable = [*_allowed(), *range(18000, 29000)]  # free ports, and the demo scheme's
    idents = [ident_for(port) for port in usable]
    assert len(set(idents)) == len(usable)
    assert all(1 <= ident <= MAX_IDENT for ident in idents)
    assert LinkShaper(ident_for(max(usable)), [max(usable)]).ident == max(usable)


def test_a_link_is_judged_by_its_heartbeats_and_what_waits_aboard() -> None:
    from fleetedge.link.health import LinkHealth  # noqa: PLC0415
    from fleetedge.link.reports import StateRules  # noqa: PLC0415

    rules = StateRules(offline_after_s=60, degraded_after_s=300)

    def judged(**fields: object) -> str:
        health = LinkHealth(vessel="vessel-1", checked_at_ms=0, vessel_reachable=True)
        for name, value in fields.items():
            setattr(health, name, value)
        return rules.judge(health).value

    assert judged(last_heartbeat_age_s=2.0) == "online"
    assert judged(last_heartbeat_age_s=2.0, oldest_unmirrored_age_s=30.0) == "online"
    assert judged(last_heartbeat_age_s=2.0, oldest_unmirrored_age_s=900.0) == "degraded"
    assert judged(last_heartbeat_age_s=2.0, lost_to_retention=3) == "degraded"
    assert judged(last_heartbeat_age_s=61.0) == "offline"
    assert judged(last_heartbeat_age_s=None) == "offline", "never heard from"
    assert judged(last_heartbeat_age_s=2.0, vessel_reachable=False) == "offline"


def test_a_link_that_does_not_answer_through_the_emulator_is_offline_at_once() -> None:
    from fleetedge.link.health import LinkHealth  # noqa: PLC0415
    from fleetedge.link.reports import StateRules  # noqa: PLC0415

    fresh = LinkHealth(vessel="vessel-1", checked_at_ms=0, vessel_reachable=True)
    fresh.last_heartbeat_age_s = 1.0
    assert StateRules().judge(fresh, link_answers=False).value == "offline"
    assert StateRules().judge(fresh, link_answers=True).value == "online"
    # Without a downlink no heartbeat comes: an answering link with nothing waiting is online.
    silent = dataclasses.replace(fresh, last_heartbeat_age_s=None)
    assert StateRules().judge(silent).value == "offline"
    assert StateRules().judge(silent, heartbeats=False).value == "online"
    assert StateRules().judge(silent, link_answers=False, heartbeats=False).value == "offline"
