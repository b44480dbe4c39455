"""The house rules for GitHub Actions workflows, checked on every workflow in .github/workflows.

Each rule is a small function returning a list of problems (empty when the workflow complies).
The parametrized tests run every rule on every workflow; the negative tests feed each rule a
small workflow that breaks it and assert the rule reports it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_DIR = REPO_ROOT / ".github" / "workflows"
ACTIONS_DIR = REPO_ROOT / ".github" / "actions"

WORKFLOWS = sorted([*WORKFLOW_DIR.glob("*.yml"), *WORKFLOW_DIR.glob("*.yaml")])
LOCAL_ACTIONS = sorted(ACTIONS_DIR.glob("*/action.y*ml"))

# The workflows the platform needs; deleting one must fail the suite, not shrink it.
EXPECTED_WORKFLOWS = {"ci.yml", "e2e-kind.yml", "image.yml", "deploy.yml", "infra.yml"}

PINNED_USES = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"uses:\s*\S+@[0-9a-f]{40}\s+#\s*v?\d+(\.\d+)*\b")
UNTRUSTED_IN_EXPRESSION = re.compile(r"\$\{\{[^}]*\b(github\.event\.|inputs\.|github\.head_ref)")
AWS_KEY_INPUTS = {"aws-access-key-id", "aws-secret-access-key", "aws-session-token"}
AWS_KEY_SECRET = re.compile(
    r"secrets\.\w*(AWS_?ACCESS_?KEY|AWS_?SECRET|ACCESS_KEY_ID|SECRET_ACCESS_KEY)\w*", re.I
)


def load(path: Path) -> dict[str, Any]:
    """Load a workflow. PyYAML reads the key `on` as True; give it back its name."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a mapping"
    if True in data:
        data["on"] = data.pop(True)
    return data


def jobs_of(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return workflow.get("jobs") or {}


def steps_of(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for step in job.get("steps") or [] if isinstance(step, dict)]


def all_uses(workflow: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, uses) for every step's and every reusable-workflow job's `uses:`."""
    for job_id, job in jobs_of(workflow).items():
        if "uses" in job:
            yield f"jobs.{job_id}", job["uses"]
        for index, step in enumerate(steps_of(job)):
            if "uses" in step:
                yield f"jobs.{job_id}.steps[{index}]", step["uses"]
    for index, step in enumerate((workflow.get("runs") or {}).get("steps") or []):
        if isinstance(step, dict) and "uses" in step:
            yield f"runs.steps[{index}]", step["uses"]


def all_run_blocks(workflow: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for job_id, job in jobs_of(workflow).items():
        for index, step in enumerate(steps_of(job)):
            if "run" in step:
                yield f"jobs.{job_id}.steps[{index}]", str(step["run"])
    for index, step in enumerate((workflow.get("runs") or {}).get("steps") or []):
        if isinstance(step, dict) and "run" in step:
            yield f"runs.steps[{index}]", str(step["run"])


#### Rules: each returns a list of problems ####################################################


def check_actions_pinned(workflow: dict[str, Any], text: str = "") -> list[str]:
    """Every remote action is pinned to a full commit SHA (local ./ actions are exempt)."""
    problems = []
    for where, uses in all_uses(workflow):
        if uses.startswith("./"):
            continue
        if uses.startswith("docker://"):
            if "@sha256:" not in uses:
                problems.append(f"{where}: {uses} is not pinned by digest")
            continue
        if not PINNED_USES.match(uses):
            problems.append(f"{where}: {uses} is not pinned to a 40-character commit SHA")
    for line in text.splitlines():
        if re.search(r"uses:\s*[^.\s][^@\s]*@[0-9a-f]{40}", line) and not VERSION_COMMENT.search(
            line
        ):
            problems.append(f"pinned without a `# vX.Y.Z` comment: {line.strip()}")
    return problems


def check_permissions(workflow: dict[str, Any], text: str = "") -> list[str]:
    """Top-level permissions are present and read-only (or empty); no write-all anywhere."""
    problems = []
    if "permissions" not in workflow:
        problems.append("no top-level `permissions:`")
    else:
        top = workflow["permissions"]
        if isinstance(top, str):
            if top != "read-all":
                problems.append(f"top-level permissions are {top!r}")
        elif isinstance(top, dict):
            writes = sorted(scope for scope, level in top.items() if level == "write")
            if writes:
                problems.append(f"top-level permissions grant write: {', '.join(writes)}")
    for job_id, job in jobs_of(workflow).items():
        if job.get("permissions") in ("write-all",):
            problems.append(f"jobs.{job_id}: permissions are write-all")
        if "permissions" not in job:
            problems.append(f"jobs.{job_id}: no job-level `permissions:` (least privilege)")
    return problems


def check_timeouts(workflow: dict[str, Any], text: str = "") -> list[str]:
    """Every job that runs steps has timeout-minutes."""
    return [
        f"jobs.{job_id}: no timeout-minutes"
        for job_id, job in jobs_of(workflow).items()
        if "uses" not in job and "timeout-minutes" not in job
    ]


def check_concurrency(workflow: dict[str, Any], text: str = "") -> list[str]:
    """A concurrency group exists, at the top level or on every job that holds a token
    (a job with `permissions: {}` changes nothing and may run freely)."""
    if "concurrency" in workflow:
        return []
    missing = [
        job_id
        for job_id, job in jobs_of(workflow).items()
        if "concurrency" not in job and job.get("permissions") != {}
    ]
    return (
        [f"no `concurrency:` at the top level or on jobs {', '.join(missing)}"] if missing else []
    )


def _assumes_role(job: dict[str, Any]) -> bool:
    return any(
        "aws-actions/configure-aws-credentials" in str(step.get("uses", ""))
        and "role-to-assume" in (step.get("with") or {})
        for step in steps_of(job)
    )


def check_id_token(workflow: dict[str, Any], text: str = "") -> list[str]:
    """`id-token: write` only in jobs that assume an AWS role, never at the top level."""
    problems = []
    top = workflow.get("permissions")
    if isinstance(top, dict) and top.get("id-token") == "write":
        problems.append("id-token: write at the top level (grant it per job)")
    for job_id, job in jobs_of(workflow).items():
        permissions = job.get("permissions")
        if isinstance(permissions, dict) and permissions.get("id-token") == "write":
            if not _assumes_role(job):
                problems.append(
                    f"jobs.{job_id}: id-token: write without configure-aws-credentials "
                    "role-to-assume"
                )
    return problems


def check_no_static_aws_keys(workflow: dict[str, Any], text: str = "") -> list[str]:
    """No static AWS keys: neither the action's key inputs nor secrets named like AWS keys."""
    problems = []
    for job_id, job in jobs_of(workflow).items():
        for index, step in enumerate(steps_of(job)):
            used = AWS_KEY_INPUTS & set(step.get("with") or {})
            if used:
                problems.append(f"jobs.{job_id}.steps[{index}]: uses {', '.join(sorted(used))}")
    for match in AWS_KEY_SECRET.finditer(text):
        problems.append(f"references a secret named like an AWS key: {match.group(0)}")
    return problems


def check_no_untrusted_in_run(workflow: dict[str, Any], text: str = "") -> list[str]:
    """No github.event.*, inputs.* or github.head_ref expression inside a `run:` script."""
    return [
        f"{where}: {match.group(0)}... in a run script; pass it through env instead"
        for where, script in all_run_blocks(workflow)
        for match in UNTRUSTED_IN_EXPRESSION.finditer(script)
    ]


RULES: list[Callable[[dict[str, Any], str], list[str]]] = [
    check_actions_pinned,
    check_permissions,
    check_timeouts,
    check_concurrency,
    check_id_token,
    check_no_static_aws_keys,
    check_no_untrusted_in_run,
]


#### The real workflows ##########################################################################


def test_expected_workflows_exist() -> None:
    assert EXPECTED_WORKFLOWS <= {path.name for path in WORKFLOWS}


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_follows_rule(path: Path, rule: Callable[..., list[str]]) -> None:
    problems = rule(load(path), path.read_text(encoding="utf-8"))
    assert problems == [], f"{path.name}: {rule.__doc__}\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "rule",
    [check_actions_pinned, check_no_static_aws_keys, check_no_untrusted_in_run],
    ids=lambda rule: rule.__name__,
)
@pytest.mark.parametrize("path", LOCAL_ACTIONS, ids=lambda path: path.parent.name)
def test_local_action_follows_rule(path: Path, rule: Callable[..., list[str]]) -> None:
    problems = rule(load(path), path.read_text(encoding="utf-8"))
    assert problems == [], f"{path}: {rule.__doc__}\n" + "\n".join(problems)


def test_deploy_never_overlaps_per_environment() -> None:
    workflow = load(WORKFLOW_DIR / "deploy.yml")
    # On the deploy job, not the workflow: a run that deploys nothing never joins the group
    # (tests/workflows/test_pipeline_rules.py checks why).
    assert "concurrency" not in workflow
    concurrency = workflow["jobs"]["deploy"]["concurrency"]
    assert "environment" in concurrency["group"]
    assert concurrency["cancel-in-progress"] is False


def test_image_is_built_once_with_sbom_and_provenance_and_pushed_by_sha() -> None:
    workflow = load(WORKFLOW_DIR / "image.yml")
    builds = [
        step["with"]
        for job in jobs_of(workflow).values()
        for step in steps_of(job)
        if "docker/build-push-action" in step.get("uses", "")
    ]
    assert len(builds) == 1, "image.yml builds once"
    (inputs,) = builds
    assert inputs["sbom"] is True
    assert inputs["provenance"] == "mode=max"
    assert inputs["outputs"].startswith("type=oci,")
    assert inputs.get("push") is False
    publish = workflow["jobs"]["publish"]
    assert publish["env"]["IMAGE_TAG"] == "${{ github.sha }}"
    pushes = [s["run"] for s in steps_of(publish) if "skopeo copy" in str(s.get("run", ""))]
    assert pushes and all('"docker://$ECR_REPOSITORY:$IMAGE_TAG"' in run for run in pushes)


#### Negative tests: each rule catches a workflow that breaks it #################################

GOOD = """
on: push
permissions: {}
concurrency: {group: g, cancel-in-progress: false}
jobs:
  build:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    permissions: {contents: read, id-token: write}
    steps:
    - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
    - uses: aws-actions/configure-aws-credentials@b47578312673ae6fa5b5096b330d9fbac3d116df # v4.2.1
      with: {role-to-assume: "${{ vars.ROLE }}", aws-region: eu-west-1}
    - uses: ./.github/actions/local
    - env: {TITLE: "${{ github.event.pull_request.title }}"}
      run: echo "$TITLE"
"""

BAD = {
    check_actions_pinned: [
        (
            "uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2",
            "uses: actions/checkout@v4",
        ),
        (
            "uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2",
            "uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",
        ),
        (
            "uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2",
            "uses: actions/checkout@11bd719 # v4.2.2",
        ),
    ],
    check_permissions: [
        ("permissions: {}\n", ""),
        ("permissions: {}\n", "permissions: write-all\n"),
        ("permissions: {}\n", "permissions: {contents: write}\n"),
        ("permissions: {contents: read, id-token: write}", "runs-on-x: 1"),
    ],
    check_timeouts: [("timeout-minutes: 5", "continue-on-error: false")],
    check_concurrency: [("concurrency: {group: g, cancel-in-progress: false}\n", "")],
    check_id_token: [
        ("permissions: {}\n", "permissions: {id-token: write}\n"),
        (
            'with: {role-to-assume: "${{ vars.ROLE }}", aws-region: eu-west-1}',
            "with: {aws-region: eu-west-1}",
        ),
    ],
    check_no_static_aws_keys: [
        (
            'with: {role-to-assume: "${{ vars.ROLE }}", aws-region: eu-west-1}',
            'with: {aws-access-key-id: "${{ vars.KEY }}", aws-region: eu-west-1}',
        ),
        (
            'with: {role-to-assume: "${{ vars.ROLE }}", aws-region: eu-west-1}',
            'with: {role-to-assume: "${{ secrets.AWS_SECRET_ACCESS_KEY }}", aws-region: x}',
        ),
    ],
    check_no_untrusted_in_run: [
        ('run: echo "$TITLE"', 'run: echo "${{ github.event.pull_request.title }}"'),
        ('run: echo "$TITLE"', 'run: echo "${{ inputs.tag }}"'),
        ('run: echo "$TITLE"', 'run: git checkout "${{ github.head_ref }}"'),
    ],
}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "workflow.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_rule_accepts_the_good_example(tmp_path: Path, rule: Callable[..., list[str]]) -> None:
    path = _write(tmp_path, GOOD)
    assert rule(load(path), path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("rule", "old", "new"),
    [(rule, old, new) for rule, cases in BAD.items() for old, new in cases],
    ids=lambda value: value.__name__ if callable(value) else None,
)
def test_rule_catches_a_bad_workflow(
    tmp_path: Path, rule: Callable[..., list[str]], old: str, new: str
) -> None:
    assert old in GOOD, "the negative case must change the good example"
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    assert rule(load(path), path.read_text(encoding="utf-8")) != []
