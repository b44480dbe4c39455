"""Every pinned action runs on the runners' Node version: a recorded table of each pin's action.yml.

GitHub deprecated Node 20 for JavaScript actions (changelog 2025-09-19, "Deprecation of Node 20 on
GitHub Actions runners"; the runner's own warning: Node 24 forced from 2 June 2026, Node 20 removed
from the runner on 16 September 2026). So every JavaScript action pinned here must declare
`runs.using: node24`, and a composite action may only call actions that do.

The table below was read from the actions' own repositories, not from release notes: for each row,
`git rev-parse <tag>^{commit}` gave the SHA (the pin is exactly that tag) and
`git show <sha>:action.yml` (or action.yaml) gave `runs.using` - on snapshots of the public
repositories taken 2026-11-30. Composite rows list the actions their steps call, read the same
way at those SHAs. The old pins are kept as node20 rows so a revert fails with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    [
        *(REPO_ROOT / ".github" / "workflows").glob("*.y*ml"),
        *(REPO_ROOT / ".github" / "actions").glob("*/action.y*ml"),
    ]
)
USES_LINE = re.compile(
    r"uses:\s*(?P<action>[\w.-]+/[\w.-]+)(?P<sub>/[\w./-]+)?@(?P<sha>[0-9a-f]{40})\s*#\s*(?P<tag>v[\w.-]+)"
)

# (repository, sha) -> (tag, runs.using, [(nested action, sha, tag)] for composite actions)
ACTIONS: dict[tuple[str, str], tuple[str, str, list[tuple[str, str, str]]]] = {
    # Current pins (node24, or composite calling only node24 actions).
    ("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1"): ("v7.0.1", "node24", []),
    ("actions/setup-python", "5fda3b95a4ea91299a34e894583c3862153e4b97"): ("v7.0.0", "node24", []),
    ("actions/setup-node", "820762786026740c76f36085b0efc47a31fe5020"): ("v7.0.0", "node24", []),
    ("actions/cache", "27d5ce7f107fe9357f9df03efb73ab90386fccae"): ("v5.0.5", "node24", []),
    ("actions/upload-artifact", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f"): (
        "v7.0.0",
        "node24",
        [],
    ),
    ("actions/download-artifact", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c"): (
        "v8.0.1",
        "node24",
        [],
    ),
    ("hashicorp/setup-terraform", "dfe3c3f87815947d99a8997f908cb6525fc44e9e"): (
        "v4.0.1",
        "node24",
        [],
    ),
    ("helm/kind-action", "ef37e7f390d99f746eb8b610417061a60e82a6cc"): ("v1.14.0", "node24", []),
    ("azure/setup-helm", "9bc31f4ebc9c6b171d7bfbaa5d006ae7abdb4310"): ("v5.0.1", "node24", []),
    ("docker/setup-buildx-action", "37fe631027851001ddb9b187196cc803df7f5f0e"): (
        "v4.3.0",
        "node24",
        [],
    ),
    ("docker/build-push-action", "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a"): (
        "v7.3.0",
        "node24",
        [],
    ),
    ("aws-actions/configure-aws-credentials", "e6de054238d6b7531b4efff3b6587d9aade6a06c"): (
        "v6.2.3",
        "node24",
        [],
    ),
    ("aws-actions/amazon-ecr-login", "03f1aad4c6c7ffd436567f42f9384779290529bd"): (
        "v2.1.7",
        "node24",
        [],
    ),
    # trivy-action 0.36.0 (action.yaml): setup-trivy v0.2.6, whose action.yaml calls
    # actions/cache/restore+save v5.0.1 and actions/checkout v6.0.1 (of aquasecurity/trivy at a
    # pinned ref), and actions/cache v5.0.5 for the DB.
    ("aquasecurity/trivy-action", "ed142fd0673e97e23eac54620cfb913e5ce36c25"): (
        "v0.36.0",
        "composite",
        [
            ("aquasecurity/setup-trivy", "3fb12ec12f41e471780db15c232d5dd185dcb514", "v0.2.6"),
            ("actions/cache", "27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
        ],
    ),
    ("aquasecurity/setup-trivy", "3fb12ec12f41e471780db15c232d5dd185dcb514"): (
        "v0.2.6",
        "composite",
        [
            ("actions/cache/restore", "9255dc7a253b0ccc959486e2bca901246202afeb", "v5.0.1"),
            ("actions/checkout", "8e8c483db84b4bee98b60c0593521ed34d9990e8", "v6.0.1"),
            ("actions/cache/save", "9255dc7a253b0ccc959486e2bca901246202afeb", "v5.0.1"),
        ],
    ),
    ("actions/cache/restore", "9255dc7a253b0ccc959486e2bca901246202afeb"): ("v5.0.1", "node24", []),
    ("actions/cache/save", "9255dc7a253b0ccc959486e2bca901246202afeb"): ("v5.0.1", "node24", []),
    ("actions/checkout", "8e8c483db84b4bee98b60c0593521ed34d9990e8"): ("v6.0.1", "node24", []),
    # cosign-installer v4.1.2: one bash step (cosign v3.0.6 checked against SHA-256 sums in the
    # action itself); no nested action.
    ("sigstore/cosign-installer", "6f9f17788090df1f26f669e9d70d6ae9567deba6"): (
        "v4.1.2",
        "composite",
        [],
    ),
    # The pins of 2026-11-30 before issue 22: all node20.
    ("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683"): ("v4.2.2", "node20", []),
    ("actions/setup-python", "a26af69be951a213d495a4c3e4e4022e16d87065"): ("v5.6.0", "node20", []),
    ("actions/setup-node", "49933ea5288caeca8642d1e84afbd3f7d6820020"): ("v4.4.0", "node20", []),
    ("actions/cache", "5a3ec84eff668545956fd18022155c47e93e2684"): ("v4.2.3", "node20", []),
    ("actions/upload-artifact", "ea165f8d65b6e75b540449e92b4886f43607fa02"): (
        "v4.6.2",
        "node20",
        [],
    ),
    ("actions/download-artifact", "d3f86a106a0bac45b974a628896c90dbdf5c8093"): (
        "v4.3.0",
        "node20",
        [],
    ),
    ("hashicorp/setup-terraform", "b9cd54a3c349d3f38e8881555d616ced269862dd"): (
        "v3.1.2",
        "node20",
        [],
    ),
    ("helm/kind-action", "a1b0e391336a6ee6713a0583f8c6240d70863de3"): ("v1.12.0", "node20", []),
    ("docker/setup-buildx-action", "b5ca514318bd6ebac0fb2aedd5d36ec1b5c232a2"): (
        "v3.10.0",
        "node20",
        [],
    ),
    ("docker/build-push-action", "263435318d21b8e681c14492fe198d362a7d2c83"): (
        "v6.18.0",
        "node20",
        [],
    ),
    ("aws-actions/configure-aws-credentials", "b47578312673ae6fa5b5096b330d9fbac3d116df"): (
        "v4.2.1",
        "node20",
        [],
    ),
    ("aws-actions/amazon-ecr-login", "062b18b96a7aff071d4dc91bc00c4c1a7945b076"): (
        "v2.0.1",
        "node20",
        [],
    ),
}

CURRENT_RUNTIME = "node24"


def runtime_problems(action: str, sha: str, tag: str, seen: frozenset = frozenset()) -> list[str]:
    """Why `action@sha # tag` does not run on node24 (empty when it does), composites followed."""
    row = ACTIONS.get((action, sha))
    if row is None:
        return [
            f"{action}@{sha} is not in the recorded table: read its action.yml at that SHA "
            "(git show <sha>:action.yml) and add a row"
        ]
    recorded_tag, using, nested = row
    problems = []
    if recorded_tag != tag:
        problems.append(f"{action}@{sha} is {recorded_tag}, the comment says {tag}")
    if using == "composite":
        for child, child_sha, child_tag in nested:
            if (child, child_sha) not in seen:
                problems += runtime_problems(child, child_sha, child_tag, seen | {(action, sha)})
    elif using != CURRENT_RUNTIME:
        problems.append(f"{action}@{sha} ({recorded_tag}) runs on {using}, not {CURRENT_RUNTIME}")
    return problems


def pinned_uses(text: str) -> list[tuple[str, str, str]]:
    return [
        (match.group("action") + (match.group("sub") or ""), match.group("sha"), match.group("tag"))
        for match in USES_LINE.finditer(text)
    ]


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.relative_to(REPO_ROOT).as_posix())
def test_every_pinned_action_runs_on_node24(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    uses = pinned_uses(text)
    remote = [
        line.strip()
        for line in text.splitlines()
        if re.search(r"uses:\s*[^.\s]", line) and "docker://" not in line
    ]
    assert len(uses) == len(remote), "every remote action is pinned as <repo>@<sha> # <tag>"
    problems = [problem for use in uses for problem in runtime_problems(*use)]
    assert problems == [], "\n".join(problems)


def test_the_table_agrees_with_itself() -> None:
    # Every composite's nested action has its own row; every current row is node24 or composite.
    for (action, _sha), (_tag, using, nested) in ACTIONS.items():
        assert using in {"node24", "node20", "composite"}, (action, using)
        for child, child_sha, child_tag in nested:
            assert (child, child_sha) in ACTIONS, f"{action} calls {child}@{child_sha}: add its row"
            assert ACTIONS[(child, child_sha)][0] == child_tag


def test_the_rule_fails_the_old_node20_pins() -> None:
    old = "uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
    problems = [p for use in pinned_uses(old) for p in runtime_problems(*use)]
    assert problems and "node20" in problems[0]


def test_the_rule_fails_an_unknown_pin_and_a_wrong_comment() -> None:
    unknown = "uses: actions/checkout@" + "0" * 40 + " # v7.0.1"
    wrong = "uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.0"
    assert "not in the recorded table" in runtime_problems(*pinned_uses(unknown)[0])[0]
    assert "the comment says v7.0.0" in runtime_problems(*pinned_uses(wrong)[0])[0]


def test_a_composite_fails_when_it_calls_a_node20_action() -> None:
    ACTIONS[("example/composite", "1" * 40)] = (
        "v1.0.0",
        "composite",
        [("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2")],
    )
    try:
        problems = runtime_problems("example/composite", "1" * 40, "v1.0.0")
    finally:
        del ACTIONS[("example/composite", "1" * 40)]
    assert problems and "node20" in problems[0]


def test_local_actions_use_a_current_node_for_the_project_tools() -> None:
    action = yaml.safe_load(
        (REPO_ROOT / ".github" / "actions" / "setup-toolchain" / "action.yml").read_text("utf-8")
    )
    node = [
        step["with"]["node-version"]
        for step in action["runs"]["steps"]
        if "actions/setup-node" in step.get("uses", "")
    ]
    # Node 20 reached end of life in April 2026; 24 is the LTS the runners themselves moved to.
    assert node == ["24"]
