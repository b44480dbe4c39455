"""Rules that make the workflows pass on a real GitHub run, not only lint (issue 22).

Each rule reads a workflow (and the repository files it runs) and returns problems; the tests run
every rule on the real workflows and feed each rule a small workflow with the defect it exists for
(the defects of the workflows before issue 22: raw `terraform init` against a `backend "local"`
root, a deploy without platform outputs or kubeconfig, site.yml without Terraform, a second image
build, signing skipped on a re-run, concurrency that drops commits, the plan artifact of the wrong
attempt in clear text, a provider cache overridden, a path filter without library/).

What the tools do is taken from their own code and documents (see docs/ci-cd.md, "Checked
against"): actions' action.yml at the pinned SHA, community.general.terraform 11.4.2, skopeo's
--preserve-digests, Trivy v0.70.0's OCI layout input (pkg/fanal/image/oci.go: `<layout>@<digest>`),
GitHub's concurrency documentation, actions/runner-images' Ubuntu 2404 readme.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_DIR = REPO_ROOT / ".github" / "workflows"


def load_text(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text)
    if True in data:
        data["on"] = data.pop(True)
    return data


def load(name: str) -> dict[str, Any]:
    return load_text((WORKFLOW_DIR / name).read_text(encoding="utf-8"))


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for step in job.get("steps") or [] if isinstance(step, dict)]


def run_text(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in steps(job))


BOUNDARIES = {
    ";",
    ";;",
    "&&",
    "||",
    "|",
    "&",
    "(",
    ")",
    "{",
    "}",
    "!",
    "then",
    "do",
    "else",
    "elif",
    "if",
    "while",
    "until",
    "$(",
}


def commands(script: str) -> list[list[str]]:
    """The simple commands of a bash script (quote-aware): continuations joined, split at ; && ||
    | ( ) { } $( and the keywords that start a command; case patterns and assignments dropped."""
    joined = re.sub(r"\\\n\s*", " ", re.sub(r"\$\{\{.*?\}\}", "EXPR", script))
    result = []
    for line in joined.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError:
            tokens = line.split()
        merged: list[str] = []
        for token in tokens:
            if merged and merged[-1] == "$" and token.startswith("("):
                merged[-1] = "$("
                token = token[1:]
                if not token:
                    continue
            merged.append(token)
        current: list[str] = []
        for token in [*merged, ";"]:
            if token in BOUNDARIES or (token.endswith(")") and not current):
                if current and token != ")":
                    result.append(current)
                elif current and token == ")" and len(current) == 1:
                    pass  # a case pattern like `production)`
                elif current:
                    result.append(current)
                current = []
                continue
            if not current and re.match(r"^\w+=", token):
                continue
            current.append(token)
    return result


def uses_of(job: dict[str, Any]) -> list[str]:
    return [str(step.get("uses", "")) for step in steps(job) if step.get("uses")]


def tracked(path: str) -> bool:
    result = subprocess.run(
        ["git", "ls-files", "--error-unmatch", path],
        cwd=REPO_ROOT,
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def inventory_vars(inventory: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for path in sorted((REPO_ROOT / inventory / "group_vars" / "all").glob("*.yml")):
        values.update(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return values


#### Which playbooks a job runs, and what they need ##############################################

PLAYBOOK_ARG = re.compile(r"^(site\.yml|playbooks/[\w.-]+\.yml)$")


def playbook_runs(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Every ansible-playbook call of a job: its inventory, playbooks, -e values and flags."""
    runs = []
    for words in commands(run_text(job)):
        if "ansible-playbook" not in " ".join(words[:2]):
            continue
        start = next(i for i, word in enumerate(words) if word.endswith("ansible-playbook"))
        args = words[start + 1 :]
        run: dict[str, Any] = {"inventory": None, "playbooks": [], "extra": {}, "check": False}
        index = 0
        while index < len(args):
            arg = args[index]
            if arg == "-i":
                run["inventory"] = args[index + 1]
                index += 2
                continue
            if arg == "-e":
                key, _, value = args[index + 1].partition("=")
                run["extra"][key] = value
                index += 2
                continue
            if arg == "--check":
                run["check"] = True
            elif PLAYBOOK_ARG.match(arg):
                run["playbooks"].append(arg)
            index += 1
        runs.append(run)
    return runs


def expand_playbooks(playbooks: list[str]) -> list[str]:
    """site.yml and friends with their import_playbook entries, in order."""
    result = []
    for name in playbooks:
        path = REPO_ROOT / name
        if not path.exists():
            result.append(name)
            continue
        plays = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        imports = [
            play["ansible.builtin.import_playbook"]
            for play in plays
            if isinstance(play, dict) and "ansible.builtin.import_playbook" in play
        ]
        if imports:
            result += expand_playbooks(imports)
        else:
            result.append(str(path.relative_to(REPO_ROOT)))
    return result


TERRAFORM_USE = re.compile(
    r"community\.general\.terraform:|argv:\s*\[?\s*-?\s*terraform\b|command:\s*terraform\b"
    r"|^\s*-\s*terraform\s*$",
    re.M,
)


def playbook_needs_terraform(name: str) -> bool:
    path = REPO_ROOT / name
    return path.exists() and bool(TERRAFORM_USE.search(path.read_text(encoding="utf-8")))


#### Tools: every tool a job's commands need is installed in that job ############################

# The tools GitHub's Ubuntu 24.04 image ships (actions/runner-images, images/ubuntu/
# Ubuntu2404-Readme.md: Docker, Docker-Buildx, Helm, AWS CLI, jq, Skopeo, gnupg2, tar, coreutils,
# curl, git, sudo). Terraform is NOT in it any more: it must be installed by the job. Helm is, but
# at whatever version the image carries (Helm 4 was requested for it in 2026-03), and
# roles/platform_k8s refuses Helm 4: a job that applies charts installs the pinned Helm 3 itself.
RUNNER_IMAGE_TOOLS = {
    "docker",
    "aws",
    "jq",
    "gpg",
    "tar",
    "sha256sum",
    "cut",
    "grep",
    "head",
    "cat",
    "echo",
    "rm",
    "mkdir",
    "cp",
    "test",
    "sudo",
    "apt-get",
    "systemctl",
    "command",
    "for",
    "exit",
    "true",
    "git",
    "curl",
    "make",
    "bash",
    "done",
    "fi",
    "esac",
    "case",
    "mv",
    "env",
    "printf",
    "export",
    "local",
}
# Tools an action of the job installs.
ACTION_TOOLS = {
    "hashicorp/setup-terraform": {"terraform"},
    "helm/kind-action": {"kind", "kubectl"},
    "azure/setup-helm": {"helm"},
    "sigstore/cosign-installer": {"cosign"},
    "./.github/actions/setup-toolchain": {"scripts/with-env", ".venv", "node", "npm", "python"},
}
# What the project's entry points call on top of their own name.
ENTRY_POINT_TOOLS = {
    "make test": {"terraform", "shellcheck", "promtool", "amtool", ".venv"},
    "make molecule-kind": {"kind", "docker", "helm", "scripts/with-env", ".venv"},
    "scripts/with-env": {".venv"},
}
APT_PACKAGE_TOOLS = {
    "prometheus": {"prometheus", "promtool"},
    "prometheus-alertmanager": {"alertmanager", "amtool"},
    "shellcheck": {"shellcheck"},
    "skopeo": {"skopeo"},
}


def installed_tools(job: dict[str, Any]) -> set[str]:
    tools = set(RUNNER_IMAGE_TOOLS)
    for uses in uses_of(job):
        for action, provided in ACTION_TOOLS.items():
            if uses.split("@")[0] == action:
                tools |= provided
    for words in commands(run_text(job)):
        if "apt-get" in words and "install" in words:
            for word in words:
                tools |= APT_PACKAGE_TOOLS.get(word, set())
    return tools


# The tools whose presence on a runner is not a given (plus the runner-image ones, checked too).
KNOWN_TOOLS = [
    "terraform",
    "kind",
    "kubectl",
    "cosign",
    "skopeo",
    "helm",
    "docker",
    "aws",
    "jq",
    "gpg",
    "trivy",
    "crane",
    "shellcheck",
    "promtool",
    "amtool",
    "node",
    "npm",
]
COMMAND_POSITION = r"(?:^|[;&|({!]|\$\(|\bthen\b|\bdo\b|\belse\b)\s*(?:\w+=\S*\s+)*"


def needed_tools(job: dict[str, Any]) -> dict[str, str]:
    """tool -> why, for every command and entry point a job runs."""
    needed: dict[str, str] = {}
    script = re.sub(r"\\\n\s*", " ", run_text(job))
    for tool in KNOWN_TOOLS:
        match = re.search(COMMAND_POSITION + rf"({re.escape(tool)})(?=\s|$)", script, re.M)
        if match:
            needed[tool] = script[match.start(1) : script.find("\n", match.start(1))].strip()[:60]
    if re.search(COMMAND_POSITION + r"(\.venv/bin/|scripts/with-env\b)", script, re.M):
        needed[".venv"] = "the project's .venv (scripts/with-env, .venv/bin)"
    for entry, tools in ENTRY_POINT_TOOLS.items():
        if re.search(COMMAND_POSITION + re.escape(entry) + r"(\s|$)", script, re.M):
            for tool in tools:
                needed.setdefault(tool, entry)
    for run in playbook_runs(job):
        for playbook in expand_playbooks(run["playbooks"]):
            if playbook_needs_terraform(playbook):
                needed.setdefault("terraform", f"{playbook} (Terraform)")
            if playbook in HELM_PLAYBOOKS and run["inventory"] != "inventories/local":
                needed.setdefault("helm", f"{playbook} (Helm releases, applied)")
    return needed


# Playbooks that install Helm releases through roles/platform_k8s when a cluster is reachable.
HELM_PLAYBOOKS = {"site.yml", "playbooks/addons.yml"}
HELM_PIN = re.compile(r'^platform_k8s_helm_version: *"([0-9.]+)"', re.M)


def check_helm_is_the_pinned_one(workflow: dict[str, Any]) -> list[str]:
    """A job that installs Helm takes the version from platform_k8s's defaults, its one owner."""
    problems = []
    for job_id, job in (workflow.get("jobs") or {}).items():
        steps = job.get("steps") or []
        for step in steps:
            if not str(step.get("uses", "")).startswith("azure/setup-helm@"):
                continue
            version = str((step.get("with") or {}).get("version", ""))
            source = re.fullmatch(r"\$\{\{ *steps\.([\w-]+)\.outputs\.version *\}\}", version)
            reader = next((s for s in steps if source and s.get("id") == source.group(1)), None)
            if reader is None or "roles/platform_k8s/defaults/main.yml" not in reader.get(
                "run", ""
            ):
                problems.append(
                    f"jobs.{job_id}: azure/setup-helm's version {version!r} is not read from "
                    "roles/platform_k8s/defaults/main.yml (platform_k8s_helm_version)"
                )
    return problems


def check_tools_installed(workflow: dict[str, Any]) -> list[str]:
    problems = []
    for job_id, job in (workflow.get("jobs") or {}).items():
        have = installed_tools(job)
        for tool, why in sorted(needed_tools(job).items()):
            if tool not in have:
                problems.append(f"jobs.{job_id}: `{why}` needs {tool}, which no step installs")
    return problems


#### Infra: the playbook's infra stage, backend from a tracked file ##############################


def root_backend_type() -> str | None:
    for path in sorted((REPO_ROOT / "terraform").glob("*.tf")):
        match = re.search(r'backend\s+"(\w+)"', path.read_text(encoding="utf-8"))
        if match:
            return match.group(1)
    return None


def check_infra_backend(workflow: dict[str, Any]) -> list[str]:
    """Terraform state of a real environment: the infra stage with the inventory's tracked backend
    config (never `terraform init` with S3 settings against the root's `backend "local"`)."""
    problems = []
    stage_runs = 0
    for job_id, job in (workflow.get("jobs") or {}).items():
        for words in commands(run_text(job)):
            if (
                words[0] == "terraform"
                and any(w.startswith("-chdir") for w in words)
                and "init" in words
            ):
                backend_files = [w for w in words if w.startswith("-backend-config")]
                if backend_files and root_backend_type() == "local":
                    problems.append(
                        f"jobs.{job_id}: `terraform init {' '.join(backend_files)}` against the "
                        'root\'s backend "local": Terraform refuses the S3 settings '
                        "(Unsupported argument)"
                    )
            if words[0] == "terraform" and ({"plan", "apply"} & set(words)):
                verb = next(w for w in words if w in {"plan", "apply"})
                problems.append(f"jobs.{job_id}: raw `terraform {verb}`; run the infra stage")
        for run in playbook_runs(job):
            if "playbooks/infra.yml" not in expand_playbooks(run["playbooks"]):
                continue
            stage_runs += 1
            inventory = run["inventory"] or ""
            if "$" in inventory:
                inventory = (workflow.get("env") or {}).get("INVENTORY")
            if not inventory:
                problems.append(f"jobs.{job_id}: the infra stage runs without an inventory")
                continue
            backend = inventory_vars(inventory).get("platform_terraform_backend_config")
            if not backend:
                problems.append(
                    f"jobs.{job_id}: {inventory} sets no platform_terraform_backend_config"
                )
            elif not tracked(f"terraform/{backend}"):
                problems.append(f"jobs.{job_id}: terraform/{backend} is not a tracked file")
    if stage_runs == 0:
        problems.append("no job runs the infra stage (playbooks/infra.yml)")
    return problems


def check_plan_artifact(workflow: dict[str, Any]) -> list[str]:
    """The apply job finds the reviewed plan after "re-run failed jobs", and the plan file that
    holds every value in clear text is never uploaded unencrypted."""
    problems = []
    for job_id, job in (workflow.get("jobs") or {}).items():
        # The plan job only plans (state=planned: community.general.terraform never applies), the
        # apply job applies the saved plan it downloaded (state=present + plan_file).
        for run in playbook_runs(job):
            if "playbooks/infra.yml" not in expand_playbooks(run["playbooks"]):
                continue
            role = {
                "infra-plan": "infra_terraform_plan_out",
                "infra-production": "infra_terraform_plan_in",
            }
            wanted = role.get(str(job.get("environment")))
            if wanted and wanted not in run["extra"]:
                problems.append(f"jobs.{job_id}: the infra stage runs without -e {wanted}")
            if run["check"] and "infra_terraform_plan_out" in run["extra"]:
                problems.append(f"jobs.{job_id}: --check skips writing the plan's text file")
        for step in steps(job):
            uses = str(step.get("uses", ""))
            inputs = step.get("with") or {}
            if uses.startswith("actions/download-artifact"):
                if "run_attempt" in str(inputs.get("name", "")):
                    problems.append(
                        f"jobs.{job_id}: downloads by a name with this job's run_attempt; a re-run "
                        "of failed jobs is a new attempt whose plan job did not run"
                    )
                if "artifact-ids" in inputs and not (
                    "needs." in str(inputs["artifact-ids"]) and inputs.get("github-token")
                ):
                    problems.append(
                        f"jobs.{job_id}: artifact-ids must come from the producing job's outputs "
                        "and be fetched with github-token (the API path sees earlier attempts)"
                    )
                if inputs.get("github-token") and "actions" not in (job.get("permissions") or {}):
                    problems.append(f"jobs.{job_id}: github-token download needs `actions: read`")
            if uses.startswith("actions/upload-artifact"):
                for line in str(inputs.get("path", "")).split():
                    if re.search(r"(^|/)tfplan$", line):
                        problems.append(f"jobs.{job_id}: uploads the plan file {line} unencrypted")
    return problems


#### Deploy: the inputs playbooks/deploy.yml asserts ##############################################


def deploy_asserted_variables() -> set[str]:
    plays = yaml.safe_load((REPO_ROOT / "playbooks" / "deploy.yml").read_text(encoding="utf-8"))
    names = set()
    for play in plays:
        for task in play.get("tasks") or []:
            that = (task.get("ansible.builtin.assert") or {}).get("that")
            for expression in [that] if isinstance(that, str) else that or []:
                match = re.match(r"^\s*(\w+) is defined", str(expression))
                if match:
                    names.add(match.group(1))
    return names


def playbook_tasks(playbook: str) -> list[dict[str, Any]]:
    """Every task of a playbook's plays, blocks unrolled."""
    path = REPO_ROOT / playbook
    if not path.exists():
        return []
    found: list[dict[str, Any]] = []

    def walk(tasks: Any) -> None:
        for task in tasks or []:
            if not isinstance(task, dict):
                continue
            found.append(task)
            for key in ("block", "rescue", "always"):
                walk(task.get(key))

    for play in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
        if isinstance(play, dict):
            for section in ("pre_tasks", "tasks", "post_tasks"):
                walk(play.get(section))
    return found


def sets_fact(playbook: str, name: str) -> bool:
    return any(
        name in (task.get(module) or {})
        for task in playbook_tasks(playbook)
        for module in ("ansible.builtin.set_fact", "set_fact")
    )


def writes_kubeconfig(playbook: str) -> bool:
    """An eks_kubeconfig task writes the kubeconfig where the inventory reads it."""
    return any(
        str((task.get("eks_kubeconfig") or {}).get("path", "")).replace(" ", "")
        in {"{{platform_build_dir}}/kubeconfig", "{{platform_kubeconfig}}"}
        for task in playbook_tasks(playbook)
    )


def model_api_repository_pattern() -> str:
    """The model_api role's own check of model_api_image_repository (tasks/validate.yml)."""
    for task in yaml.safe_load(
        (REPO_ROOT / "roles/model_api/tasks/validate.yml").read_text("utf-8")
    ):
        for expression in (task.get("ansible.builtin.assert") or {}).get("that") or []:
            match = re.match(r"^model_api_image_repository is match\('(.+)'\)$", str(expression))
            if match:
                return match.group(1)
    raise AssertionError("roles/model_api/tasks/validate.yml no longer checks the repository")


def check_deploy_inputs(workflow: dict[str, Any], inventory_of: dict[str, str]) -> list[str]:
    """A job that runs playbooks/deploy.yml produces, in the same ansible-playbook call, every
    variable the playbook asserts, and the kubeconfig at the path its inventory names."""
    problems = []
    asserted = deploy_asserted_variables()
    for job_id, job in (workflow.get("jobs") or {}).items():
        earlier: list[str] = []
        for run in playbook_runs(job):
            if "playbooks/deploy.yml" not in run["playbooks"]:
                earlier += run["playbooks"]
                continue
            # What an earlier call of this job recorded (build/<inventory>/platform.json) counts.
            before = earlier + run["playbooks"][: run["playbooks"].index("playbooks/deploy.yml")]
            for playbook in run["playbooks"]:
                if not (REPO_ROOT / playbook).exists():
                    problems.append(f"jobs.{job_id}: runs {playbook}, which does not exist")
            for name in sorted(asserted):
                if name in run["extra"]:
                    continue
                if any(sets_fact(playbook, name) for playbook in expand_playbooks(before)):
                    continue
                problems.append(
                    f"jobs.{job_id}: playbooks/deploy.yml asserts {name}, and nothing in this call "
                    "sets it (on a fresh runner there is no build/<inventory>/platform.json)"
                )
            repository = run["extra"].get("model_api_image_repository")
            if repository:
                env = {**(workflow.get("env") or {}), **(job.get("env") or {})}
                value = re.sub(
                    r"\$\{?(\w+)\}?",
                    lambda m, env=env: str(env.get(m.group(1), m.group(0))),
                    repository,
                )
                if not re.match(model_api_repository_pattern(), value):
                    problems.append(
                        f"jobs.{job_id}: model_api_image_repository {value!r} fails the model_api "
                        f"role's check {model_api_repository_pattern()!r}"
                    )
            raw = run["inventory"] or ""
            inventory = (
                inventory_of.get(job_id)
                if "$" in raw or not raw
                else raw.removeprefix("inventories/")
            )
            if inventory and inventory_vars(f"inventories/{inventory}").get("platform_kubeconfig"):
                if not any(
                    writes_kubeconfig(p)
                    for p in expand_playbooks([*before, "playbooks/deploy.yml"])
                ):
                    problems.append(
                        f"jobs.{job_id}: inventories/{inventory} reads its kubeconfig from "
                        "build/<inventory>/kubeconfig and no playbook in this call writes it"
                    )
            if "update-kubeconfig" in run_text(job):
                problems.append(
                    f"jobs.{job_id}: `aws eks update-kubeconfig` writes ~/.kube/config, which the "
                    "inventory does not read"
                )
    return problems


#### Image: build once, scan that digest, push and sign the same digest ###########################

DIGEST_OUTPUT = re.compile(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.digest\s*\}\}")


def check_scanned_digest_is_published(workflow: dict[str, Any]) -> list[str]:
    problems = []
    jobs = workflow.get("jobs") or {}
    builds = [
        (job_id, step)
        for job_id, job in jobs.items()
        for step in steps(job)
        if "docker/build-push-action" in str(step.get("uses", ""))
    ]
    builds += [
        (job_id, {"run": words})
        for job_id, job in jobs.items()
        for words in commands(run_text(job))
        if words[:2] in (["docker", "build"], ["docker", "buildx"]) and "build" in words[1:3]
    ]
    if len(builds) != 1:
        problems.append(f"{len(builds)} image builds; build once and push what was scanned")
    for job_id, step in builds:
        inputs = step.get("with") or {}
        if inputs.get("push") is True or inputs.get("push") == "true":
            problems.append(f"jobs.{job_id}: the build pushes before anything scanned it")
        for key in ("cache-from", "cache-to"):
            if inputs.get(key):
                problems.append(
                    f"jobs.{job_id}: {key} {inputs[key]!r}: a shared cache feeds the release"
                )
    # The scan: Trivy on a digest, and that digest is the job's output.
    scanned_by: dict[str, str] = {}
    for job_id, job in jobs.items():
        for step in steps(job):
            if "aquasecurity/trivy-action" not in str(step.get("uses", "")):
                continue
            target = str(
                (step.get("with") or {}).get("input") or (step.get("with") or {}).get("image-ref")
            )
            match = DIGEST_OUTPUT.search(target)
            if not match or "@" not in target:
                problems.append(f"jobs.{job_id}: Trivy scans {target!r}, not a digest")
            else:
                scanned_by.setdefault(job_id, match.group(1))
    sign_jobs = [
        (job_id, step)
        for job_id, job in jobs.items()
        for step in steps(job)
        if re.search(r"\bcosign sign\b", str(step.get("run", "")))
    ]
    if not sign_jobs:
        problems.append("nothing signs the published image")
    for job_id, step in sign_jobs:
        job = jobs[job_id]
        if step.get("if"):
            problems.append(
                f"jobs.{job_id}: signing is conditional ({step['if']}); sign every publish"
            )
        digest_env = str((step.get("env") or {}).get("DIGEST", ""))
        match = DIGEST_OUTPUT.search(digest_env)
        producer = next((s for s in steps(job) if match and s.get("id") == match.group(1)), None)
        if producer is None:
            problems.append(f"jobs.{job_id}: the signed digest comes from no step of this job")
            continue
        script = str(producer.get("run", ""))
        if "docker/build-push-action" in str(producer.get("uses", "")):
            problems.append(f"jobs.{job_id}: signs the digest of a build, not of the scanned image")
            continue
        scanned_env = str((job.get("env") or {}).get("SCANNED_DIGEST", ""))
        need = re.search(r"needs\.([\w-]+)\.outputs\.([\w-]+)", scanned_env)
        build_job = jobs.get(need.group(1)) if need else None
        if (
            not build_job
            or scanned_by.get(need.group(1))
            != (
                DIGEST_OUTPUT.search(str((build_job.get("outputs") or {}).get(need.group(2), "")))
                or [None, None]
            )[1]
        ):
            problems.append(f"jobs.{job_id}: SCANNED_DIGEST is not the digest Trivy scanned")
        if "--preserve-digests" not in script or '"$SCANNED_DIGEST"' not in script:
            problems.append(
                f"jobs.{job_id}: step {producer.get('id')} must push with --preserve-digests and "
                "compare with $SCANNED_DIGEST"
            )
        # Any other digest the step may publish (an earlier run's image of this commit) must be
        # scanned again, by digest, before it is signed.
        assigned = set(re.findall(r'\bdigest="?\$\{?(\w+)', script))
        rescans = [
            s
            for s in steps(job)
            if "aquasecurity/trivy-action" in str(s.get("uses", ""))
            and f"steps.{producer.get('id')}.outputs.digest"
            in str((s.get("with") or {}).get("image-ref", ""))
        ]
        if assigned - {"SCANNED_DIGEST"} and not rescans:
            problems.append(
                f"jobs.{job_id}: step {producer.get('id')} may publish "
                f"${', $'.join(sorted(assigned - {'SCANNED_DIGEST'}))}, "
                "which is signed without a scan of that digest"
            )
    return problems


TRIVY_ACTION = ("aquasecurity/trivy-action", "ed142fd0673e97e23eac54620cfb913e5ce36c25")
# v0.69.4 was the malicious Trivy release (StepSecurity, 2026-03-20; GHSA-69fq-xp46-6x23 for the
# actions); the same window also served v0.69.5 and v0.69.6 tags.
TRIVY_COMPROMISED = {"v0.69.4", "v0.69.5", "v0.69.6"}


def check_trivy_pinned(workflow: dict[str, Any]) -> list[str]:
    problems = []
    for job_id, job in (workflow.get("jobs") or {}).items():
        for step in steps(job):
            uses = str(step.get("uses", ""))
            if not uses.startswith("aquasecurity/trivy-action"):
                continue
            action, _, sha = uses.partition("@")
            if (action, sha) != TRIVY_ACTION:
                problems.append(
                    f"jobs.{job_id}: trivy-action@{sha}: only 0.36.0 ({TRIVY_ACTION[1]}) pins its "
                    "setup-trivy install script "
                    "(setup-trivy v0.2.6 checks trivy out at a fixed ref)"
                )
            version = str((step.get("with") or {}).get("version", ""))
            if not re.match(r"^v\d+\.\d+\.\d+$", version) or version in TRIVY_COMPROMISED:
                problems.append(
                    f"jobs.{job_id}: Trivy version {version!r} is not a pinned safe release"
                )
            if str((step.get("with") or {}).get("cache", "true")).lower() != "false":
                problems.append(
                    f"jobs.{job_id}: Trivy's DB cache is shared with every job: cache: false"
                )
    return problems


def check_deploy_verifies_signature(workflow: dict[str, Any]) -> list[str]:
    problems = []
    for job_id, job in (workflow.get("jobs") or {}).items():
        order = [str(step.get("run", "")) for step in steps(job)]
        deploy_at = next((i for i, s in enumerate(order) if "playbooks/deploy.yml" in s), None)
        if deploy_at is None:
            continue
        verify_at = next(
            (i for i, s in enumerate(order) if re.search(r"\bcosign verify\b", s)), None
        )
        if verify_at is None or verify_at > deploy_at:
            problems.append(f"jobs.{job_id}: deploys without `cosign verify` first")
        elif "--certificate-identity" not in order[verify_at]:
            problems.append(f"jobs.{job_id}: cosign verify must pin the signer identity")
    return problems


#### Concurrency ################################################################################


def check_image_concurrency(workflow: dict[str, Any]) -> list[str]:
    """Every commit pushed to main gets its image: per-commit groups, never cancelled."""
    concurrency = workflow.get("concurrency") or {}
    group = str(concurrency.get("group", ""))
    problems = []
    if "github.sha" not in group:
        problems.append(
            f"group {group!r}: pushes share a group, so GitHub cancels a pending run when a newer "
            "commit's run joins it (that commit never gets an image)"
        )
    cancel = str(concurrency.get("cancel-in-progress", "false"))
    if cancel == "True" or (cancel != "False" and "pull_request" not in cancel):
        problems.append(f"cancel-in-progress {cancel!r} cancels runs of pushes")
    return problems


def check_deploy_concurrency(workflow: dict[str, Any]) -> list[str]:
    """Deploys of one environment never overlap, and a run that deploys nothing never joins."""
    problems = []
    if "concurrency" in workflow:
        problems.append(
            "workflow-level concurrency: runs whose jobs are all skipped (failed image builds) "
            "join the group and replace a pending deploy"
        )
    for job_id, job in (workflow.get("jobs") or {}).items():
        if "environment" not in job:
            continue
        concurrency = job.get("concurrency") or {}
        if "environment" not in str(concurrency.get("group", "")):
            problems.append(
                f"jobs.{job_id}: no per-environment concurrency group on the deploy job"
            )
        if concurrency.get("cancel-in-progress") is not False:
            problems.append(f"jobs.{job_id}: a rollout must never be cancelled half-way")
        if not job.get("needs"):
            problems.append(f"jobs.{job_id}: the deploy job must sit behind the gate job (needs:)")
    return problems


#### e2e-kind ####################################################################################


def ansible_cfg_dirs() -> set[str]:
    text = (REPO_ROOT / "ansible.cfg").read_text(encoding="utf-8")
    dirs = set()
    for key in ("library", "module_utils", "roles_path"):
        match = re.search(rf"^\s*{key}\s*=\s*(.+)$", text, re.M)
        if match:
            for entry in match.group(1).split(":"):
                entry = entry.strip().removeprefix("./")
                if entry and not entry.startswith(("/", "~")):
                    dirs.add(entry.rstrip("/"))
    return dirs


def check_kind_path_filter(workflow: dict[str, Any]) -> list[str]:
    paths = ((workflow.get("on") or {}).get("pull_request") or {}).get("paths") or []
    needed = ansible_cfg_dirs() | {"roles", "playbooks", "molecule", "inventories/kind", "service"}
    missing = sorted(d for d in needed if f"{d}/**" not in paths)
    for file in ("site.yml", "Dockerfile", "ansible.cfg"):
        if file not in paths:
            missing.append(file)
    return [f"a pull request changing {m} does not run the kind end to end" for m in missing]


def check_one_kind_cluster(workflow: dict[str, Any]) -> list[str]:
    problems = []
    for job_id, job in (workflow.get("jobs") or {}).items():
        made = [u for u in uses_of(job) if u.startswith("helm/kind-action")]
        for words in commands(run_text(job)):
            if words[:1] == ["kind"] and len(words) > 2 and words[1] in {"create", "delete"}:
                problems.append(
                    f"jobs.{job_id}: `kind {words[1]} cluster`: kind-action owns the cluster"
                )
        if len(made) > 1:
            problems.append(f"jobs.{job_id}: {len(made)} kind clusters")
    return problems


#### The real workflows ##########################################################################


def test_infra_runs_the_infra_stage_with_a_tracked_backend() -> None:
    assert check_infra_backend(load("infra.yml")) == []


def test_infra_plan_artifact_survives_reruns_and_is_encrypted() -> None:
    assert check_plan_artifact(load("infra.yml")) == []


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOW_DIR.glob("*.yml")))
def test_every_tool_a_job_runs_is_installed_in_that_job(name: str) -> None:
    assert check_tools_installed(load(name)) == []


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOW_DIR.glob("*.yml")))
def test_helm_is_the_pinned_helm_3(name: str) -> None:
    assert check_helm_is_the_pinned_one(load(name)) == []


def test_helm_rules_fail_the_runner_image_helm_and_a_literal_version() -> None:
    runner_helm = yaml.safe_load(
        "jobs:\n  canary:\n    steps:\n      - uses: helm/kind-action@x\n"
        "      - uses: ./.github/actions/setup-toolchain\n"
        "      - uses: hashicorp/setup-terraform@x\n"
        "      - run: scripts/with-env ansible-playbook -i inventories/kind site.yml\n"
    )
    assert any("needs helm" in p for p in check_tools_installed(runner_helm))
    literal = yaml.safe_load(
        "jobs:\n  canary:\n    steps:\n      - uses: azure/setup-helm@x\n"
        "        with: {version: v3.19.0}\n"
    )
    assert check_helm_is_the_pinned_one(literal)
    match = HELM_PIN.search((REPO_ROOT / "roles/platform_k8s/defaults/main.yml").read_text())
    assert match, "platform_k8s_helm_version is not a quoted version in its defaults"
    pin = match.group(1)
    workflow_text = (WORKFLOW_DIR / "e2e-kind.yml").read_text()
    assert "platform_k8s_helm_version" in workflow_text and pin not in workflow_text


def test_deploy_job_produces_what_the_deploy_playbook_asserts() -> None:
    workflow = load("deploy.yml")
    resolve = workflow["jobs"]["resolve"]["steps"][0]["run"]
    # production -> aws-dev: the inventory the resolve job maps the environment to.
    inventory = re.search(r"production\)\s*inventory=([\w-]+)", resolve).group(1)
    assert check_deploy_inputs(workflow, {"deploy": inventory}) == []


def test_the_kind_deploys_get_what_deploy_yml_asserts() -> None:
    assert check_deploy_inputs(load("e2e-kind.yml"), {}) == []


def test_deploy_verifies_the_signature_first() -> None:
    assert check_deploy_verifies_signature(load("deploy.yml")) == []


def test_the_signed_digest_is_the_scanned_digest() -> None:
    assert check_scanned_digest_is_published(load("image.yml")) == []


@pytest.mark.parametrize("name", ["image.yml", "e2e-kind.yml", "ci.yml", "deploy.yml", "infra.yml"])
def test_trivy_is_pinned_completely(name: str) -> None:
    assert check_trivy_pinned(load(name)) == []


def test_image_concurrency_never_drops_a_commit() -> None:
    assert check_image_concurrency(load("image.yml")) == []


def test_deploy_concurrency_never_lets_a_skipped_run_displace_a_deploy() -> None:
    assert check_deploy_concurrency(load("deploy.yml")) == []


def test_kind_path_filter_covers_what_the_playbooks_load() -> None:
    assert check_kind_path_filter(load("e2e-kind.yml")) == []


def test_kind_jobs_use_the_one_cluster_kind_action_made() -> None:
    assert check_one_kind_cluster(load("e2e-kind.yml")) == []


def test_ci_provider_cache_reaches_terraform() -> None:
    """ci.yml restores TF_PLUGIN_CACHE_DIR; scripts/with-env must keep a value it is given."""
    ci = load("ci.yml")["jobs"]["test"]
    assert "TF_PLUGIN_CACHE_DIR" in ci["env"]
    with_env = (REPO_ROOT / "scripts" / "with-env").read_text(encoding="utf-8")
    (line,) = [x for x in with_env.splitlines() if x.startswith("export TF_PLUGIN_CACHE_DIR=")]
    result = subprocess.run(
        ["bash", "-c", f'root=/r; {line}; echo "$TF_PLUGIN_CACHE_DIR"'],
        env={"TF_PLUGIN_CACHE_DIR": "/given", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "/given", f"scripts/with-env overrides the cache: {line}"


#### Each rule fails the defect it exists for ####################################################

OLD_INFRA = """
on: push
jobs:
  plan:
    steps:
      - run: terraform -chdir=terraform init -backend-config="envs/$TF_ENV.s3.tfbackend"
      - run: terraform -chdir=terraform plan -out=tfplan
      - uses: actions/upload-artifact@x
        with:
          name: "tfplan-${{ github.run_id }}-${{ github.run_attempt }}"
          path: "terraform/tfplan\\nplan.txt"
  apply:
    needs: plan
    steps:
      - uses: actions/download-artifact@x
        with: {name: "tfplan-${{ github.run_id }}-${{ github.run_attempt }}"}
"""


def test_backend_rule_fails_raw_init_against_the_local_backend(monkeypatch) -> None:
    monkeypatch.setattr(f"{__name__}.root_backend_type", lambda: "local")
    problems = check_infra_backend(load_text(OLD_INFRA))
    assert any("Unsupported argument" in p for p in problems)
    assert any("no job runs the infra stage" in p for p in problems)


def test_backend_rule_fails_an_inventory_without_backend_config() -> None:
    workflow = load_text(
        "on: push\njobs:\n  plan:\n    steps:\n"
        "      - run: scripts/with-env ansible-playbook -i inventories/kind playbooks/infra.yml\n"
    )
    assert any(
        "sets no platform_terraform_backend_config" in p for p in check_infra_backend(workflow)
    )


def test_plan_artifact_rule_fails_the_old_attempt_name_and_clear_plan() -> None:
    problems = check_plan_artifact(load_text(OLD_INFRA))
    assert any("run_attempt" in p for p in problems)
    assert any("unencrypted" in p for p in problems)


def test_tools_rule_fails_site_yml_without_terraform() -> None:
    workflow = load_text(
        "on: push\njobs:\n  canary:\n    steps:\n"
        "      - uses: helm/kind-action@x\n      - uses: ./.github/actions/setup-toolchain\n"
        "      - run: .venv/bin/ansible-playbook -i inventories/kind site.yml\n"
    )
    problems = check_tools_installed(workflow)
    assert any("needs terraform" in p for p in problems), problems


def test_tools_rule_fails_cosign_and_skopeo_without_install() -> None:
    workflow = load_text(
        "on: push\njobs:\n  publish:\n    steps:\n"
        "      - run: |\n          skopeo copy a b\n          cosign sign --yes x\n"
    )
    problems = check_tools_installed(workflow)
    assert any("needs skopeo" in p for p in problems)
    assert any("needs cosign" in p for p in problems)


OLD_DEPLOY = """
on: workflow_dispatch
concurrency: {group: "deploy-${{ inputs.environment || 'production' }}", cancel-in-progress: false}
jobs:
  deploy:
    needs: resolve
    environment: {name: production}
    steps:
      - run: aws eks update-kubeconfig --name "$EKS_CLUSTER_NAME" --region "$AWS_REGION"
      - run: |
          .venv/bin/ansible-playbook -i "inventories/$INVENTORY" playbooks/deploy.yml \\
            -e "model_api_image_tag=$IMAGE_TAG"
"""


def test_deploy_inputs_rule_fails_the_old_deploy_job(monkeypatch) -> None:
    # As before issue 22, no playbook of the call wrote the kubeconfig (deploy.yml did not either).
    monkeypatch.setattr(f"{__name__}.writes_kubeconfig", lambda playbook: False)
    problems = check_deploy_inputs(load_text(OLD_DEPLOY), {"deploy": "aws-dev"})
    assert any("asserts platform_infra" in p for p in problems), problems
    assert any("kubeconfig" in p and "no playbook" in p for p in problems), problems
    assert any("update-kubeconfig" in p for p in problems), problems


def test_signature_rule_fails_a_deploy_without_verify() -> None:
    assert check_deploy_verifies_signature(load_text(OLD_DEPLOY)) != []


def test_deploy_concurrency_rule_fails_workflow_level_groups() -> None:
    problems = check_deploy_concurrency(load_text(OLD_DEPLOY))
    assert any("workflow-level" in p for p in problems)
    assert any("per-environment" in p for p in problems)


OLD_IMAGE = """
on: push
concurrency:
  group: image-${{ github.event.pull_request.number || github.ref }}
  cancel-in-progress: ${{ github.event_name == 'pull_request' }}
jobs:
  build-and-scan:
    steps:
      - uses: docker/build-push-action@x
        with:
          load: true
          push: false
          tags: "model-api:scan"
          cache-from: "type=gha,scope=m"
          cache-to: "type=gha,mode=max,scope=m"
      - uses: aquasecurity/trivy-action@57a97c7e7821a5776cebc9bb87c984fa69cba8f1
        with: {image-ref: "model-api:scan", version: v0.69.3}
  publish:
    needs: build-and-scan
    steps:
      - id: existing
        run: echo "exists=false" >> "$GITHUB_OUTPUT"
      - id: build
        if: steps.existing.outputs.exists == 'false'
        uses: docker/build-push-action@x
        with: {push: true, cache-from: "type=gha,scope=m"}
      - if: steps.existing.outputs.exists == 'false'
        env: {DIGEST: "${{ steps.build.outputs.digest }}"}
        run: cosign sign --yes "$ECR_REPOSITORY@$DIGEST"
"""


def test_digest_rule_fails_the_second_build_and_the_skipped_signature() -> None:
    problems = check_scanned_digest_is_published(load_text(OLD_IMAGE))
    assert any("2 image builds" in p for p in problems), problems
    assert any("pushes before anything scanned" in p for p in problems)
    assert any("cache-from" in p for p in problems)
    assert any("not a digest" in p for p in problems)
    assert any("signing is conditional" in p for p in problems)
    assert any("digest of a build" in p for p in problems)


def test_digest_rule_fails_a_re_run_branch_that_signs_unscanned() -> None:
    good = load("image.yml")
    publish = good["jobs"]["publish"]
    publish["steps"] = [
        step
        for step in publish["steps"]
        if not ("trivy-action" in str(step.get("uses", "")) and step.get("if"))
    ]
    problems = check_scanned_digest_is_published(good)
    assert any("without a scan of that digest" in p for p in problems), problems


def test_trivy_rule_fails_0_35_0_and_an_unpinned_version() -> None:
    problems = check_trivy_pinned(load_text(OLD_IMAGE))
    assert any("0.36.0" in p for p in problems)
    assert any("cache: false" in p for p in problems)
    workflow = load_text(
        "on: push\njobs:\n  s:\n    steps:\n"
        f"      - uses: {TRIVY_ACTION[0]}@{TRIVY_ACTION[1]}\n"
        "        with: {version: latest, cache: 'false'}\n"
    )
    assert any("not a pinned safe release" in p for p in check_trivy_pinned(workflow))


def test_image_concurrency_rule_fails_the_old_per_ref_group() -> None:
    problems = check_image_concurrency(load_text(OLD_IMAGE))
    assert any("never gets an image" in p for p in problems)


def test_deploy_inputs_rule_fails_a_repository_the_role_refuses() -> None:
    workflow = load_text(
        "on: push\nenv: {IMAGE_REPOSITORY: model-api}\njobs:\n  canary:\n    steps:\n"
        "      - run: .venv/bin/ansible-playbook -i inventories/kind site.yml\n"
        "      - run: |\n"
        "          .venv/bin/ansible-playbook -i inventories/kind playbooks/deploy.yml \\\n"
        '            -e "model_api_image_repository=$IMAGE_REPOSITORY" -e model_api_image_tag=x\n'
    )
    problems = check_deploy_inputs(workflow, {})
    assert any("'model-api' fails the model_api role's check" in p for p in problems), problems


def test_kind_rules_fail_the_old_filter_and_a_recreated_cluster() -> None:
    workflow = load_text(
        "on:\n  pull_request:\n    paths: ['roles/**', 'service/**', 'playbooks/**', "
        "'inventories/kind/**', 'molecule/**', 'Dockerfile']\njobs:\n  m:\n    steps:\n"
        "      - uses: helm/kind-action@x\n      - run: kind delete cluster --name ml-platform\n"
    )
    missing = check_kind_path_filter(workflow)
    assert any("library" in p for p in missing) and any("module_utils" in p for p in missing)
    assert check_one_kind_cluster(workflow) != []
