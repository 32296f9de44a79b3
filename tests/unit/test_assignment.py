"""The normalizer's watch on its pattern subscription's blind spot (shore/assignment.py)."""

from __future__ import annotations

from fleetedge.shore.assignment import Unassigned


def test_a_topic_is_overdue_only_once_it_stayed_unassigned_for_the_whole_grace() -> None:
    watch = Unassigned(grace_s=30)
    assert watch.overdue({"v1.a", "v2.a"}, {"v1.a"}, now=100) == []
    assert watch.overdue({"v1.a", "v2.a"}, {"v1.a"}, now=129) == []
    assert watch.overdue({"v1.a", "v2.a"}, {"v1.a"}, now=130) == ["v2.a"]


def test_a_topic_assigned_in_time_or_gone_starts_its_grace_again() -> None:
    watch = Unassigned(grace_s=30)
    watch.overdue({"v1.a", "v2.a"}, set(), now=0)
    watch.overdue({"v1.a", "v2.a"}, {"v1.a"}, now=20)  # v1.a assigned: forgotten
    watch.overdue({"v2.a"}, set(), now=25)  # v1.a deleted meanwhile
    assert watch.overdue({"v1.a", "v2.a"}, set(), now=40) == ["v2.a"]
    assert watch.overdue({"v1.a", "v2.a"}, set(), now=50) == ["v2.a"]
    assert watch.overdue({"v1.a", "v2.a"}, set(), now=70) == ["v1.a", "v2.a"]


def test_after_subscribing_again_each_topic_gets_a_whole_grace() -> None:
    watch = Unassigned(grace_s=30)
    watch.overdue({"v1.a"}, set(), now=0)
    assert watch.overdue({"v1.a"}, set(), now=30) == ["v1.a"]
    watch.forget()
    assert watch.overdue({"v1.a"}, set(), now=31) == []
    assert watch.overdue({"v1.a"}, set(), now=61) == ["v1.a"]
