"""Input forms: ConfigMap or bare document, empty configs, YAML errors with lines, yaml.v2 semantics."""

from __future__ import annotations

import textwrap

import pytest

from ironlb.config import Config, ConfigError, config_from_configmap, parse_config
from ironlb.kube_types import ConfigMap

BARE = textwrap.dedent(
    """\
    address-pools:
    - name: default
      protocol: layer2
      addresses: [172.30.0.100-172.30.0.199]
    """
)


def manifest(config_text: str, key: str = "config") -> str:
    body = textwrap.indent(config_text, "    ")
    return (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ironlb\n  namespace: ironlb-system\n"
        f"data:\n  {key}: |\n{body}"
    )


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return list(info.value.errors)


def test_bare_and_configmap_forms_agree() -> None:
    bare = parse_config(BARE)
    assert bare.pools[0].name == "default" and bare.pools[0].ranges[0].size == 100
    assert parse_config(manifest(BARE)) == bare


def test_configmap_among_other_documents() -> None:
    text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ironlb-system}\n---\n" + manifest(BARE)
    assert parse_config(text) == parse_config(BARE)


def test_config_from_configmap_dict() -> None:
    cm: ConfigMap = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"config": BARE}}
    assert config_from_configmap(cm) == parse_config(BARE)
    cm2: ConfigMap = {"kind": "ConfigMap", "data": {"other": BARE}}
    assert config_from_configmap(cm2, key="other") == parse_config(BARE)


@pytest.mark.parametrize(
    ("cm", "expected"),
    [
        ({"kind": "ConfigMap"}, "data.config: missing"),
        ({"kind": "ConfigMap", "data": {"cfg": "x: 1"}}, "data.config: missing"),
        ({"kind": "ConfigMap", "data": {"config": 5}}, "data.config: expected a string"),
        ({"kind": "ConfigMap", "data": ["config"]}, "data: expected a mapping"),
    ],
)
def test_config_from_configmap_missing_or_malformed(cm: ConfigMap, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_configmap(cm)
    assert info.value.errors[0].startswith(expected)


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "---\n", "~\n", "{}\n"])
def test_empty_bare_config_is_valid_and_empty(text: str) -> None:
    assert parse_config(text) == Config()


def test_empty_config_in_configmap_is_valid() -> None:
    assert parse_config(manifest("")) == Config()
    assert config_from_configmap({"kind": "ConfigMap", "data": {"config": ""}}) == Config()


def test_configmap_errors_are_config_relative() -> None:
    errors = errors_of(manifest("address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.0/33]}]\n"))
    assert errors == ["address-pools[0].addresses[0]: '10.0.0.0/33' is not a valid CIDR or address range"]


def test_bad_yaml_names_its_line() -> None:
    errors = errors_of("address-pools:\n- name: a\n  protocol: layer2\n   addresses: [x]\n")
    assert len(errors) == 1 and errors[0].startswith("line 4: ")


def test_bad_yaml_inside_configmap_names_the_file_line() -> None:
    text = manifest("peers:\n- peer-address: [1.2.3.4\n  peer-asn: 1\n")
    # The config starts on line 8 of the file; the bad token is on the config's line 3.
    assert text.splitlines()[9] == "      peer-asn: 1"
    errors = errors_of(text)
    assert len(errors) == 1 and errors[0].startswith("line 10: "), errors
    assert errors[0].endswith("(column 15)")  # the ':' after peer-asn, counted in the file


def test_bad_yaml_in_configmap_dict_names_config_line() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_configmap({"kind": "ConfigMap", "data": {"config": "a: b\n c: d\n"}})
    assert info.value.errors[0].startswith("data.config line 2: ")


def test_duplicate_yaml_keys_are_refused_with_line() -> None:
    errors = errors_of("address-pools: []\npeers: []\naddress-pools: []\n")
    assert errors == [errors[0]]
    assert errors[0].startswith("line 3: duplicate key 'address-pools' (first at line 1)")


def test_merge_keys_may_override() -> None:
    config = parse_config(
        "address-pools:\n- &a {name: a, protocol: layer2, addresses: [10.0.0.0/24], auto-assign: false}\n"
        "- {<<: *a, name: b, addresses: [10.0.1.0/24]}\n"
    )
    assert [(p.name, p.auto_assign) for p in config.pools] == [("a", False), ("b", False)]


def test_several_config_documents_are_refused() -> None:
    assert errors_of("peers: []\n---\npeers: []\n") == ["(root): expected one config document, found 2"]


def test_several_configmaps_need_the_key_to_choose() -> None:
    other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {unrelated: x}\n---\n"
    assert parse_config(other + manifest(BARE)) == parse_config(BARE)
    both = manifest(BARE) + "---\n" + manifest(BARE)
    assert errors_of(both) == ["(root): found 2 ConfigMaps, 2 with data.config; expected exactly one"]


def test_yaml_v2_scalar_semantics() -> None:
    """MetalLB decoded with yaml.v2: no base-60 numbers; plain scalars into strings keep their text."""
    config = parse_config(
        """
        bgp-communities: {a: 64512:10, b: 1:30}
        peers:
        - peer-address: 172.30.0.1
          peer-asn: 64512
          my-asn: 64513
          password: 0755
          node-selectors: [{match-labels: {rack: 01, enabled: yes, ratio: 1.50}}]
        """
    )
    assert dict((k, v.value) for k, v in config.bgp_communities) == {"a": "64512:10", "b": "1:30"}
    peer = config.peers[0]
    assert peer.password == "0755"
    assert dict(peer.node_selectors[0].match_labels) == {"rack": "01", "enabled": "yes", "ratio": "1.50"}


def test_numbers_and_booleans_stay_strict() -> None:
    errors = errors_of(
        "peers: [{peer-address: 172.30.0.1, peer-asn: '64512', my-asn: 1.5, ebgp-multihop: 'true'}]\n"
    )
    assert sorted(errors) == [
        "peers[0].ebgp-multihop: expected true or false, got string 'true'",
        "peers[0].my-asn: expected an integer, got number 1.5",
        "peers[0].peer-asn: expected an integer, got string '64512'",
    ]


def test_yaml_one_one_booleans_accepted_like_yaml_v2() -> None:
    config = parse_config(
        "address-pools: [{name: a, protocol: layer2, addresses: [10.0.0.0/24], auto-assign: no}]"
    )
    assert config.pools[0].auto_assign is False


@pytest.mark.parametrize(
    "text",
    [
        "a: &a [*a]\n",  # recursive alias
        "a: &a ['x','x','x','x','x','x','x','x','x','x']\n"
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",  # alias bomb
        "[" * 1000,  # deep nesting
        "a: !!python/object:os.system x\n",  # unsafe tag
        "\x00",
    ],
    ids=["recursive-alias", "alias-bomb", "deep-nesting", "python-tag", "nul"],
)
def test_hostile_yaml_is_a_config_error(text: str) -> None:
    errors = errors_of(text)
    assert len(errors) == 1


def test_configmap_data_must_hold_a_string() -> None:
    errors = errors_of("kind: ConfigMap\ndata:\n  config:\n    peers: []\n")
    assert errors == ["data.config: expected a string holding the config, got a mapping"]


def test_error_str_joins_lines() -> None:
    err = ConfigError(["a: x", "b: y"])
    assert str(err) == "a: x\nb: y" and err.errors == ("a: x", "b: y")
