"""The configuration model refuses bad files at the door, naming the file and the key path."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml

import vigie
from schemas.config import (
    ConfigError,
    OperatorKind,
    VigieConfig,
    legal_retention_ceiling_days,
    load,
    parse,
)

EXAMPLE = Path(vigie.__file__).parent / "examples" / "brussels.yaml"


def minimal() -> dict[str, Any]:
    """A small valid configuration that each test breaks in one place."""
    return {
        "region": "Test",
        "operators": [
            {"id": "police-a", "name": "Police A", "kind": "police"},
            {"id": "transit", "name": "Transit", "kind": "public_transport"},
        ],
        "profiles": [{"name": "sd", "width": 640, "height": 360, "max_fps": 5}],
        "cameras": [
            {
                "id": "cam-1",
                "operator": "police-a",
                "name": "Square",
                "position": {"lat": 50.85, "lon": 4.35},
                "zone": "centre",
                "source_kind": "synthetic",
                "source": "synthetic://square",
                "profile": "sd",
            },
            {
                "id": "cam-2",
                "operator": "transit",
                "name": "Platform",
                "position": {"lat": 50.84, "lon": 4.36},
                "zone": "centre",
                "tags": ["metro"],
                "source_kind": "rtsp",
                "source": "rtsp://viewer:${CAM2_PASSWORD}@10.0.0.2:554/stream1",
                "profile": "sd",
            },
        ],
        "agreements": [
            {
                "id": "transit-to-police",
                "owner": "transit",
                "grantee": "police-a",
                "tags": ["metro"],
                "incident_kinds": ["pursuit"],
                "max_duration_minutes": 60,
                "live": True,
                "archive": False,
                "legal_basis": "Camera law, art. 9",
            }
        ],
        "links": [{"from_camera": "cam-1", "to_camera": "cam-2", "via": "walkway"}],
    }


def problems(data: dict[str, Any]) -> str:
    """The error text a user would read for this data; fails the test if the data is accepted."""
    with pytest.raises(ConfigError) as caught:
        parse(data, source="test.yaml")
    return str(caught.value)


def test_minimal_config_is_valid() -> None:
    """Guards the fixture itself, so that every refusal below is caused by its one change."""
    config = parse(minimal())
    assert [c.id for c in config.cameras_of("transit")] == ["cam-2"]


# --------------------------------------------------------------------------- the example


def test_example_loads_with_every_operator_and_camera() -> None:
    """The shipped Brussels example is what the demo runs; it must always validate."""
    config = load(EXAMPLE)
    assert config.region == "Brussels-Capital"
    assert {o.id for o in config.operators} == {
        "police-bruxelles-ixelles",
        "police-midi",
        "police-montgomery",
        "stib",
        "bruxelles-mobilite",
        "port-bruxelles",
    }
    assert len(config.cameras) >= 20
    assert sum(1 for c in config.cameras if c.privacy_masks) >= 2
    assert config.operator("port-bruxelles").special_risk_site
    assert config.camera("stib-schuman").operator == "stib"
    assert config.profile("hd-5fps").width == 1280


def test_example_metro_line_is_linked_end_to_end() -> None:
    """Pursuit prediction follows links: De Brouckère must reach Montgomery by metro."""
    config = load(EXAMPLE)
    metro = {(link.from_camera, link.to_camera) for link in config.links if link.via == "metro"}
    line = ["stib-de-brouckere", "stib-gare-centrale", "stib-parc", "stib-arts-loi"]
    line += ["stib-schuman", "stib-montgomery"]
    assert set(pairwise(line)) <= metro


def test_lookup_of_unknown_id_raises_key_error_naming_it() -> None:
    config = parse(minimal())
    with pytest.raises(KeyError, match="nope"):
        config.camera("nope")
    with pytest.raises(KeyError, match="nope"):
        config.cameras_of("nope")


# --------------------------------------------------------------------------- closed model


def test_unknown_top_level_key_is_refused_with_a_suggestion() -> None:
    data = minimal()
    data["regoin"] = "typo"
    text = problems(data)
    assert "regoin: unknown key (did you mean 'region'?)" in text


def test_unknown_nested_key_is_refused_with_its_key_path() -> None:
    data = minimal()
    data["cameras"][1]["position"]["latitude"] = 50.0
    assert "cameras[1].position.latitude: unknown key" in problems(data)


def test_missing_required_key_is_named() -> None:
    data = minimal()
    del data["cameras"][0]["zone"]
    assert "cameras[0].zone: missing required key" in problems(data)


def test_string_for_a_number_is_refused_and_shown() -> None:
    """YAML `"30"` is a string: a closed config does not guess."""
    data = minimal()
    data["operators"][0]["retention_days"] = "30"
    assert "operators[0].retention_days: Input should be a valid integer, got '30'" in problems(
        data
    )


# --------------------------------------------------------------------------- references


def test_unknown_operator_reference_names_the_key_path() -> None:
    data = minimal()
    data["cameras"][1]["operator"] = "polise-x"
    assert "cameras[1].operator: unknown operator 'polise-x'" in problems(data)


def test_unknown_profile_and_link_camera_are_refused() -> None:
    data = minimal()
    data["cameras"][0]["profile"] = "hd"
    data["links"][0]["to_camera"] = "cam-9"
    text = problems(data)
    assert "cameras[0].profile: unknown profile 'hd'" in text
    assert "links[0].to_camera: unknown camera 'cam-9'" in text


def test_field_errors_and_broken_references_are_reported_together() -> None:
    """One run of the validator lists every problem, so a file is fixed in one pass."""
    data = minimal()
    data["cameras"][1]["operator"] = "polise-x"
    data["operators"][0]["retention_days"] = 400
    text = problems(data)
    assert text.startswith("test.yaml: 2 problems\n")
    assert "  cameras[1].operator: unknown operator 'polise-x'" in text
    assert (
        "  operators[0].retention_days: 400 days exceeds the legal ceiling of 365 days"
        " for a police operator"
    ) in text


def test_duplicate_camera_id_is_refused() -> None:
    """Camera ids key Kafka records and archive objects: two cameras must never share one."""
    data = minimal()
    data["cameras"][1]["id"] = "cam-1"
    assert "cameras[1].id: duplicate camera id 'cam-1' (first defined at cameras[0])" in problems(
        data
    )


def test_duplicate_operator_id_is_refused() -> None:
    data = minimal()
    data["operators"][1]["id"] = "police-a"
    assert "operators[1].id: duplicate operator id 'police-a'" in problems(data)


@pytest.mark.parametrize("bad_id", ["Police-A", "police_a", "police-", "9police", "p" * 41])
def test_operator_id_must_fit_topic_and_bucket_names(bad_id: str) -> None:
    data = minimal()
    data["operators"][0]["id"] = bad_id
    assert "operators[0].id: id " in problems(data)


def test_an_operator_id_cannot_take_a_services_storage_user() -> None:
    """Operator X's MinIO user is vigie-X: an operator named `retrieval` would become the
    retrieval service's user, which reads every archive."""
    data = minimal()
    data["operators"][0]["id"] = "retrieval"
    assert "operators[0].id: operator id 'retrieval' is reserved" in problems(data)


# --------------------------------------------------------------------------- retention


@pytest.mark.parametrize(
    ("kind", "special_risk_site", "days", "accepted"),
    [
        ("roads", False, 30, True),
        ("roads", False, 31, False),
        ("port", True, 90, True),
        ("port", True, 91, False),
        ("police", False, 365, True),
        ("police", False, 366, False),
    ],
)
def test_retention_is_capped_by_the_legal_ceiling(
    kind: str, special_risk_site: bool, days: int, accepted: bool
) -> None:
    """One month in general, three months on a special-risk site, twelve months for police."""
    data = minimal()
    data["operators"][0].update(kind=kind, special_risk_site=special_risk_site, retention_days=days)
    if accepted:
        assert parse(data).operators[0].retention_days == days
    else:
        ceiling = legal_retention_ceiling_days(OperatorKind(kind), special_risk_site)
        assert ceiling == days - 1
        expected = f"{days} days exceeds the legal ceiling of {ceiling} days"
        assert f"operators[0].retention_days: {expected}" in problems(data)


def test_police_on_a_special_risk_site_keeps_the_police_ceiling() -> None:
    assert legal_retention_ceiling_days(OperatorKind.POLICE, special_risk_site=True) == 365
    assert legal_retention_ceiling_days(OperatorKind.OTHER, special_risk_site=False) == 30


def test_zero_retention_is_refused() -> None:
    data = minimal()
    data["operators"][0]["retention_days"] = 0
    assert "operators[0].retention_days: Input should be greater than or equal to 1" in problems(
        data
    )


# --------------------------------------------------------------------------- sources


def test_literal_password_in_source_is_refused_without_echoing_it() -> None:
    """Secrets come from the environment; the error must not print the password either."""
    data = minimal()
    data["cameras"][1]["source"] = "rtsp://viewer:hunter2@10.0.0.2:554/stream1"
    text = problems(data)
    assert "cameras[1].source: literal password in the source URL" in text
    assert "hunter2" not in text


def test_literal_password_in_query_string_is_refused() -> None:
    data = minimal()
    data["cameras"][1].update(source_kind="snapshot", source="http://cam/snap.jpg?pwd=hunter2")
    assert "cameras[1].source: literal password" in problems(data)


def test_placeholders_are_resolved_from_the_environment() -> None:
    """A password with URL metacharacters is percent-encoded so it cannot redirect the URL."""
    camera = parse(minimal()).camera("cam-2")
    resolved = camera.resolved_source({"CAM2_PASSWORD": "p@ss:w/rd"})
    assert resolved == "rtsp://viewer:p%40ss%3Aw%2Frd@10.0.0.2:554/stream1"


def test_missing_environment_variable_is_named() -> None:
    camera = parse(minimal()).camera("cam-2")
    with pytest.raises(ConfigError, match="environment variable CAM2_PASSWORD is not set"):
        camera.resolved_source({})


@pytest.mark.parametrize(
    ("source_kind", "source", "expected"),
    [
        ("rtsp", "http://10.0.0.2/video.mjpg", "source_kind rtsp expects rtsp:// or rtsps://"),
        ("mjpeg", "rtsp://10.0.0.2/stream1", "source_kind mjpeg expects http:// or https://"),
        (
            "synthetic",
            "videos/square.mp4",
            "source_kind synthetic expects synthetic://, got no URL scheme",
        ),
        (
            "file",
            "rtsp://10.0.0.2/stream1",
            "source_kind file expects file:// or a file path, got rtsp://",
        ),
        ("synthetic", "synthetic://", "synthetic source needs a pattern"),
    ],
)
def test_source_scheme_must_match_source_kind(source_kind: str, source: str, expected: str) -> None:
    data = minimal()
    data["cameras"][1].update(source_kind=source_kind, source=source)
    assert f"cameras[1].source: {expected}" in problems(data)


def test_file_sources_accept_paths_and_file_urls() -> None:
    data = minimal()
    data["cameras"][0].update(source_kind="file", source="/data/clips/square.mp4")
    data["cameras"][1].update(source_kind="file", source="file:///data/clips/platform.mp4")
    assert parse(data).camera("cam-1").source == "/data/clips/square.mp4"


# --------------------------------------------------------------------------- agreements, masks


def test_agreement_with_itself_is_refused() -> None:
    data = minimal()
    data["agreements"][0]["grantee"] = "transit"
    assert "agreements[0].grantee: owner and grantee are both 'transit'" in problems(data)


def test_agreement_granting_nothing_is_refused() -> None:
    data = minimal()
    data["agreements"][0].update(live=False, archive=False)
    assert "agreements[0]: agreement grants neither live nor archive access" in problems(data)


def test_agreement_without_incident_kind_is_refused() -> None:
    data = minimal()
    data["agreements"][0]["incident_kinds"] = []
    assert "agreements[0].incident_kinds: List should have at least 1 item" in problems(data)


def test_mask_point_outside_the_frame_is_refused() -> None:
    """Mask points are fractions of the frame, so they survive a resolution change."""
    data = minimal()
    data["cameras"][0]["privacy_masks"] = [
        {"name": "windows", "polygon": [[0.1, 0.1], [1.2, 0.1], [0.5, 0.5]]}
    ]
    text = problems(data)
    assert "cameras[0].privacy_masks[0].polygon[1][0]: Input should be less than or equal to 1" in (
        text
    )


def test_mask_with_fewer_than_three_points_is_refused() -> None:
    data = minimal()
    data["cameras"][0]["privacy_masks"] = [{"name": "w", "polygon": [[0.1, 0.1], [0.2, 0.2]]}]
    assert "cameras[0].privacy_masks[0].polygon: List should have at least 3 items" in problems(
        data
    )


def test_odd_frame_size_is_refused() -> None:
    """Video encoders need even dimensions."""
    data = minimal()
    data["profiles"][0]["height"] = 361
    assert "profiles[0].height: height 361 must be even" in problems(data)


# --------------------------------------------------------------------------- reading files


def test_yaml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("region: x\noperators:\n  - id: a\n   name: b\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: YAML syntax error at line 4")
    assert "\n" not in text
    assert caught.value.path == str(path)


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    """PyYAML would silently keep the last value; a closed config refuses the ambiguity."""
    path = tmp_path / "dup.yaml"
    path.write_text("region: a\nregion: b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2, column 1: duplicate key 'region'"):
        load(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == f"{path}: file not found"


@pytest.mark.parametrize(("text", "found"), [("", "an empty document"), ("- a\n", "a list")])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, found: str) -> None:
    path = tmp_path / "top.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"the top level must be a mapping, got {found}"):
        load(path)


def test_validation_problems_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "brussels.yaml"
    broken = minimal()
    broken["cameras"][0]["operator"] = "polise-x"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.path == str(path)
    assert caught.value.issues == [("cameras[0].operator", "unknown operator 'polise-x'")]


def test_model_is_frozen() -> None:
    """Validated configuration never changes behind the validator's back."""
    config = parse(minimal())
    with pytest.raises(ValueError, match="frozen"):
        config.region = "elsewhere"
    assert isinstance(config, VigieConfig)
