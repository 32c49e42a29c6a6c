"""Property and fuzz tests of ``ironlb convert``.

- Random *valid* MetalLB CRD sets (deprecated AddressPools among them) convert
  without errors or losses, to a config that ironlb's parser reads back
  unchanged and that has the pools, protocols and peers the CRDs describe.
- Random or mangled YAML, and CRD-shaped objects full of noise, never crash the
  conversion: only findings come out, and any config that does come out
  round-trips.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ironlb.cli.convert import convert_paths
from ironlb.config import parse_config
from ironlb.config.load import load_config
from ironlb.config.model import Config
from ironlb.config.render import render_config, render_configmap
from ironlb.config.resources.render import render
from ironlb.metallb import Conversion, convert, manifests_from_text, to_model
from ironlb.metallb.crds import SPECS
from tests.config.resources.test_load_properties import normal, unrename
from tests.config.strategies import configs
from tests.metallb.helpers import address_pool, bgp, l2, obj, peer, pool, protocols

PROPERTY = settings(
    max_examples=80, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
CLI_PROPERTY = settings(
    max_examples=30, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
"""The command itself, files and all: fewer examples (the decoding is covered at 80 above)."""
FUZZ = settings(
    max_examples=250, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

SAMPLE_TEXTS = [
    p.read_text()
    for p in sorted((Path(__file__).resolve().parents[2] / "config/samples/metallb-crds").glob("*.yaml"))
]

names = st.from_regex(r"\A[a-z][a-z0-9-]{0,8}[a-z0-9]\Z")


@st.composite
def crd_sets(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, str], int]:
    """A valid CRD set, the protocol each pool must get, and the number of peers."""
    objects: list[dict[str, Any]] = []
    expected: dict[str, str] = {}
    aliases = draw(
        st.dictionaries(names, st.tuples(st.integers(0, 65535), st.integers(0, 65535)), max_size=3)
    )
    if aliases:
        objects.append(
            obj(
                "Community",
                "c",
                {"communities": [{"name": n, "value": f"{a}:{b}"} for n, (a, b) in aliases.items()]},
            )
        )
    interfaces = draw(st.sampled_from([None, ["eth1"], ["eth0", "bond0"]]))
    pool_names = draw(st.lists(names, max_size=4, unique=True))
    for i, name in enumerate(pool_names):
        prefix = draw(st.integers(22, 30))
        addresses = [f"10.{i}.0.0/{prefix}"]
        v6 = draw(st.booleans())
        if v6:
            addresses.append(f"fd00:{i}::/120")
        ranged = draw(st.booleans())
        if ranged:
            addresses.append(f"172.16.{i}.10 - 172.16.{i}.20")  # widest block /30
        extra: dict[str, Any] = {}
        if draw(st.booleans()):
            extra["autoAssign"] = draw(st.booleans())
        if draw(st.booleans()):
            extra["avoidBuggyIPs"] = draw(st.booleans())
        # The deprecated AddressPool: its own protocol; a layer2 one answers on every interface, which
        # L2Advertisements limited to some interfaces could not express without loss.
        legacy = draw(st.sampled_from(["no", "bgp"] if interfaces else ["no", "bgp", "layer2"]))
        kind = legacy if legacy != "no" else draw(st.sampled_from(["layer2", "bgp", "none"]))
        expected[name] = "layer2" if kind == "none" else kind
        legacy_ads: list[dict[str, Any]] = []
        if legacy == "no":
            objects.append(pool(name, *addresses, **extra))
        if kind == "layer2" and legacy == "no":
            objects.append(l2(f"l2-{name}", name, **({"interfaces": interfaces} if interfaces else {})))
        elif kind == "bgp":
            for j in range(draw(st.integers(0 if legacy != "no" else 1, 2))):
                spec: dict[str, Any] = {}
                if draw(st.booleans()):
                    spec["aggregationLength"] = draw(st.sampled_from([32, 30 if ranged else prefix]))
                    spec["aggregationLengthV6"] = draw(st.sampled_from([128, 120]))
                if draw(st.booleans()):
                    spec["localPref"] = draw(st.integers(0, 2**32 - 1))
                spec["communities"] = draw(
                    st.lists(st.sampled_from([*aliases, "65000:1", "large:1:2:3"]), max_size=3)
                )
                if legacy != "no":
                    legacy_ads.append(spec)
                else:
                    objects.append(bgp(f"bgp-{name}-{j}", name, **spec))
        if legacy != "no":
            ads = {"bgpAdvertisements": legacy_ads} if legacy_ads else {}
            objects.append(address_pool(name, legacy, *addresses, **ads, **extra))
    profiles = draw(st.lists(names, max_size=2, unique=True))
    for name in profiles:
        objects.append(
            obj(
                "BFDProfile",
                name,
                {
                    "receiveInterval": draw(st.integers(10, 60000)),
                    "detectMultiplier": draw(st.integers(2, 255)),
                },
            )
        )
    n_peers = draw(st.integers(0, 3))
    for k in range(n_peers):
        my, other = draw(st.integers(1, 2**32 - 1)), draw(st.integers(1, 2**32 - 1))
        hold = draw(st.sampled_from([None, "0s", "3s", "90s", "4m"]))
        spec = {"myASN": my, "peerASN": other, "peerAddress": f"192.0.2.{k + 1}"}
        if hold is not None:
            spec["holdTime"] = hold
            if draw(st.booleans()):
                spec["keepaliveTime"] = "0s" if hold == "0s" else "1s"
        if profiles and draw(st.booleans()):
            spec["bfdProfile"] = draw(st.sampled_from(profiles))
        if my != other and draw(st.booleans()):
            spec["ebgpMultiHop"] = True
        if draw(st.booleans()):
            spec["password"] = draw(
                st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=8)
            )
        if draw(st.booleans()):
            spec["nodeSelectors"] = [{"matchLabels": {"rack": draw(names)}}]
        objects.append(peer(f"peer-{k}", **spec))
    if not objects:
        objects.append(pool("only", "10.200.0.0/24"))
        expected["only"] = "layer2"
    draw(st.randoms()).shuffle(objects)
    return objects, expected, n_peers


def run_text(text: str) -> Conversion:
    manifests, _ = manifests_from_text(text, "fuzz.yaml")
    return convert(manifests)


def check_round_trip(result: Conversion) -> None:
    if result.config is not None:
        assert parse_config(render_config(result.config)) == result.config


@PROPERTY
@given(crd_sets())
def test_valid_crd_sets_convert_losslessly_and_round_trip(
    case: tuple[list[dict[str, Any]], dict[str, str], int],
) -> None:
    objects, expected, n_peers = case
    manifests, read = manifests_from_text(yaml.safe_dump_all(objects), "gen.yaml")
    assert read == []
    result = convert(manifests)
    bad = [str(f) for f in result.findings if f.severity in ("error", "lossy")]
    assert bad == []
    assert result.config is not None
    assert parse_config(render_config(result.config)) == result.config
    assert protocols(result.config) == expected
    assert [p.name for p in result.config.pools] == sorted(expected)
    assert len(result.config.peers) == n_peers


@FUZZ
@given(st.text(max_size=300))
def test_random_text_never_crashes(text: str) -> None:
    check_round_trip(run_text(text))


@FUZZ
@given(
    st.sampled_from(SAMPLE_TEXTS),
    st.lists(
        st.tuples(
            st.integers(0, 10_000), st.integers(0, 3), st.sampled_from(list(" :-[]{}\n#&*!|>'\"0a%@`,?"))
        ),
        max_size=6,
    ),
)
def test_mangled_samples_never_crash(text: str, edits: list[tuple[int, int, str]]) -> None:
    chars = list(text)
    for pos, op, ch in edits:
        i = pos % (len(chars) + 1)
        if op == 0:
            chars.insert(i, ch)
        elif op == 1 and chars:
            del chars[i % len(chars)]
        elif op == 2 and chars:
            chars[i % len(chars)] = ch
        else:
            chars[i:i] = chars[max(0, i - 20) : i]  # duplicate a stretch: duplicate keys, repeated docs
    check_round_trip(run_text("".join(chars)))


FIELDS = sorted(
    {info.alias or name for model in SPECS.values() for name, info in model.model_fields.items()}
    | {"matchLabels", "matchExpressions", "key", "operator", "values", "name", "value", "priority"}
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.text(max_size=12),
    st.sampled_from(["10.0.0.0/24", "fd00::/120", "1.2.3.4-1.2.3.1", "90s", "64512:1", "eth0", "In", "x"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=4), inner, max_size=4),
    ),
    max_leaves=12,
)


@FUZZ
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "apiVersion": st.sampled_from(
                    ["metallb.io/v1beta1", "metallb.io/v1beta2", "metallb.io/v9", "v1", 5]
                ),
                "kind": st.sampled_from([*SPECS, "AddressPool", "List", "Other"]),
                "metadata": st.one_of(
                    st.fixed_dictionaries({"name": st.one_of(names, scalars), "labels": values}), values
                ),
                "spec": st.one_of(st.dictionaries(st.sampled_from(FIELDS), values, max_size=6), values),
                "items": values,
            }
        ),
        max_size=5,
    )
)
def test_crd_shaped_noise_never_crashes(objects: list[dict[str, Any]]) -> None:
    check_round_trip(run_text(yaml.safe_dump_all(objects)))


def _resources_cli(paths: list[Path]) -> tuple[int, str, str]:
    """``ironlb convert PATHS`` (the default: ironlb.io resources), in process."""

    out, err = io.StringIO(), io.StringIO()
    code = convert_paths(paths, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@CLI_PROPERTY
@given(case=crd_sets())
def test_valid_crd_sets_convert_to_resources_that_decode_to_the_same_config(
    case: tuple[list[dict[str, Any]], dict[str, str], int], tmp_path_factory: Any
) -> None:
    """MetalLB CRDs → what ``ironlb convert`` prints → ``load_config``: the config the CRDs describe, whole
    (advertisements, node selectors, peers and all; nothing is projected away)."""

    objects, _, n_peers = case
    text = yaml.safe_dump_all(objects)
    f = tmp_path_factory.mktemp("crds") / "m.yaml"
    f.write_text(text)
    code, out, err = _resources_cli([f])
    assert code == 0, err
    assert not [line for line in err.splitlines() if line.startswith(("error:", "lossy:"))], err
    model = to_model(manifests_from_text(text, "gen.yaml")[0]).model
    assert model is not None
    back = load_config(None, [d for d in yaml.safe_load_all(out) if d])
    assert back.errors == () and back.config is not None
    assert normal(back.config) == normal(model)
    assert len(back.config.peers) == n_peers


@CLI_PROPERTY
@given(config=configs())
def test_legacy_configmaps_convert_to_resources_and_back(config: Config, tmp_path_factory: Any) -> None:
    """ConfigMap → resources (the default) → ``load_config`` gives the ConfigMap's config (names the
    resources cannot carry put back); → ``--to configmap`` gives the ConfigMap's text again."""

    d = tmp_path_factory.mktemp("cm")
    (d / "cm.yaml").write_text(render_configmap(config))
    code, out, err = _resources_cli([d / "cm.yaml"])
    assert code == 0, err
    objects = [doc for doc in yaml.safe_load_all(out) if doc]
    back = load_config(None, objects)
    assert back.errors == () and back.config is not None
    renames = render(config).renames
    assert normal(unrename(back.config, renames)) == normal(config)
    if not objects:
        return  # an empty config: no objects, nothing to convert back
    (d / "res.yaml").write_text(out)
    cm_out, cm_err = io.StringIO(), io.StringIO()
    assert convert_paths([d / "res.yaml"], to="configmap", out=cm_out, err=cm_err) == 0, cm_err.getvalue()
    assert normal(unrename(parse_config(cm_out.getvalue()), renames)) == normal(config)
