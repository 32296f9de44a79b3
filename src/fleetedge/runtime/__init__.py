"""The local Apache Kafka runtime: jars from Maven Central, KRaft clusters as processes."""

from fleetedge.runtime.cluster import ClusterStatus, KafkaCluster, NodeStatus, list_clusters
from fleetedge.runtime.jars import KAFKA_VERSION, KafkaJars
from fleetedge.runtime.jvm import KafkaRuntime
from fleetedge.runtime.ports import NodePorts, demo_ports, free_node_ports, slot_for_name
from fleetedge.runtime.toolchain import Java, find_java, find_maven

__all__ = [
    "KAFKA_VERSION",
    "ClusterStatus",
    "Java",
    "KafkaCluster",
    "KafkaJars",
    "KafkaRuntime",
    "NodePorts",
    "NodeStatus",
    "demo_ports",
    "find_java",
    "find_maven",
    "free_node_ports",
    "list_clusters",
    "slot_for_name",
]
