"""``ironlb lab services`` and ``status`` as a user reads them, without a lab running (no root needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ironlb.cli import lab
from ironlb.cli.lab_commands import _print_status
from ironlb.cli.main import main
from ironlb.lab.state import DEFAULT_ROOT, LabState, StateDir

BGP_ECMP = Path(__file__).resolve().parents[2] / "containerlab" / "bgp-ecmp" / "bgp-ecmp.clab.yml"


def services(capsys: pytest.CaptureFixture[str], root: Path, name: str) -> tuple[int, str, str]:
    code = main(["lab", "services", name, "--state-dir", str(root)])
    out, err = capsys.readouterr()
    return code, out, err


def test_services_of_a_lab_that_is_not_running(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = services(capsys, tmp_path, "nosuchlab")
    assert (code, out) == (1, "")
    assert err == "ironlb lab services: lab nosuchlab is not running; running labs: none\n"
    assert "--no-ironlb" not in err
    StateDir(tmp_path, "other").save(LabState(instance="other", topology=str(BGP_ECMP), prefix="x"))
    code, out, err = services(capsys, tmp_path, "bgp-ecmp")  # a topology name, not up
    assert err == "ironlb lab services: lab bgp-ecmp is not running; running labs: other\n"


def test_services_of_a_lab_without_ironlb_and_with_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = StateDir(tmp_path, "plain")
    state.save(LabState(instance="plain", topology=str(BGP_ECMP), prefix="x"))
    code, _, err = services(capsys, tmp_path, "plain")
    assert code == 1
    assert err == "ironlb lab services: lab plain runs without ironlb (started with --no-ironlb)\n"
    (state.path / "cluster").mkdir()
    (state.path / "cluster" / "web.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n"
        "spec: {type: LoadBalancer, clusterIP: 10.96.0.10, ports: [{port: 80, protocol: TCP}]}\n"
    )
    code, out, err = services(capsys, tmp_path, "plain")
    assert (code, err) == (0, "")
    assert out.split("\n")[1].split() == [
        "default",
        "web",
        "LoadBalancer",
        "10.96.0.10",
        "<pending>",
        "80/TCP",
    ]


def test_status_aligns_its_columns(capsys: pytest.CaptureFixture[str]) -> None:
    def proc(node: str, name: str, pid: int, running: bool, role: str) -> dict[str, object]:
        return {"node": node, "name": name, "pid": pid, "running": running, "role": role}

    _print_status(
        {
            "instance": "demo",
            "topology": str(BGP_ECMP),
            "owner": "1234",
            "nodes": {
                "router": {"namespace": "ilb-demo-router", "exists": True},
                "node1": {"namespace": "ilb-demo-node1", "exists": False},
            },
            "links": [["router:eth1", "node1:eth1"]],
            "processes": [
                proc("router", "zebra", 101, True, "router"),
                proc("controller", "ironlb-controller", 123456789, True, "spawned"),
                proc("node1", "ironlb-nodeagent", 7, False, "spawned"),
            ],
            "sessions": {"router": {"172.30.0.11": "Established", "fd00:30::11": "Active"}},
        }
    )
    lines = capsys.readouterr().out.splitlines()
    procs = lines[lines.index("processes:") + 1 : lines.index("bgp sessions of router:")]
    assert len(procs) == 3
    assert len({line.index("pid ") for line in procs}) == 1, procs
    states = {line.find(word) for line in procs for word in ("running", "EXITED") if word in line}
    assert len(states) == 1, procs  # the state column starts at one offset, whatever the names' lengths
    roles = {line.index("(") for line in procs}
    assert len(roles) == 1, procs
    nodes = lines[lines.index("nodes:") + 1 : lines.index("links:")]
    assert len({line.find(" ok") if " ok" in line else line.find(" MISSING") for line in nodes}) == 1
    sessions = lines[lines.index("bgp sessions of router:") + 1 :]
    assert sessions == ["  172.30.0.11  Established", "  fd00:30::11  Active"]


def test_help_names_the_state_root_the_lab_uses() -> None:
    assert str(DEFAULT_ROOT) == lab.DEFAULT_STATE_ROOT


@pytest.mark.parametrize("output", ["table", "json", "text"])
def test_status_takes_the_output_names_of_the_other_commands(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, output: str
) -> None:
    """``-o table|json`` as plan and status take it (``text``, the old name, still works)."""
    code = main(["lab", "status", "nosuchlab", "--state-dir", str(tmp_path), "-o", output])
    _, err = capsys.readouterr()
    assert code == 1 and "no topology 'nosuchlab'" in err, err
