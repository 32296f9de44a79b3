"""Deployment files rendered from the roles' files (``fleet deploy render``).

- :mod:`.kubernetes`: Strimzi resources for the role's Kafka (cluster, topics, users and
  ACLs), the shore's Connect cluster and the vessels' connectors (:mod:`.link`, :mod:`.strimzi`),
  and Deployments of our image that run the role;
- :mod:`.systemd`: a unit per role for a host of its own.
"""

from fleetedge.deploy.exceptions import DeployError
from fleetedge.deploy.render import render

__all__ = ["DeployError", "render"]
