"""Several holders may hold one archived object: a release lifts only its own hold (pure)."""

from __future__ import annotations

from consumers.archive.hold import holder_tag, remaining_holders


def test_a_release_leaves_the_other_holders() -> None:
    tags = {holder_tag("incident:a"): "1", holder_tag("operations"): "1", "other": "x"}
    assert remaining_holders(tags, "incident:a") == {holder_tag("operations")}
    assert remaining_holders({holder_tag("incident:a"): "1"}, "incident:a") == set()


def test_holder_tags_are_valid_s3_tag_keys() -> None:
    tag = holder_tag("incident:<script>" + "x" * 200)
    assert len(tag) <= 128
    assert "<" not in tag
    assert tag.startswith("vigie-hold/incident:")
