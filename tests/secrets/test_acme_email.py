"""The one ACME contact e-mail check (roles/cert_manager/tasks/acme_email.yml), which the
cert_manager role and playbooks/preflight.yml both run.

What Let's Encrypt refuses is Boulder's ValidEmail (letsencrypt/boulder, policy/pa.go):
forbiddenMailDomains holds exactly example.com, example.net and example.org (RFC 2606 section 3),
and ValidDomain refuses a domain that does not end in an IANA top-level domain (errNonPublic), so
the reserved .test, .example, .invalid and .localhost (RFC 2606 section 2) fail too. Real domains
such as test.com or example.io are accepted by Let's Encrypt and must not be flagged.
"""

from __future__ import annotations

import json
import subprocess

import pytest

pytestmark = pytest.mark.slow

PLAY = """
- name: Run the shared ACME e-mail check for each address
  hosts: localhost
  gather_facts: false
  vars:
    platform_k8s_mode: apply
    platform_aws_emulated: false
    cases: {cases}
  tasks:
    - name: Check each address
      ansible.builtin.include_tasks: {repo}/tests/secrets/files/acme_email_case.yml
      loop: "{{{{ cases }}}}"
      loop_control:
        loop_var: case

    - name: Write the results
      ansible.builtin.copy:
        dest: {out}
        content: "{{{{ results | to_json }}}}"
        mode: "0600"
"""

CASES = {
    # refused by Let's Encrypt
    "platform-team@example.com": "refuses as a contact domain",
    "ops@EXAMPLE.org": "refuses as a contact domain",
    "ops@example.net": "refuses as a contact domain",
    "ops@mail.test": "ends in .test",
    "ops@company.example": "ends in .example",
    "ops@host.invalid": "ends in .invalid",
    "ops@box.localhost": "ends in .localhost",
    "not-an-address": "is not an e-mail address",
    "ops@no-tld": "is not an e-mail address",
    # accepted by Let's Encrypt: real registrable domains
    "ops@test.com": "",
    "ops@example.io": "",
    "platform-team@my-company.co.uk": "",
    "ops@sub.example-corp.com": "",
}


def run(repo_root, tool_env, tmp_path, cases, strict=None):
    play = tmp_path / "acme_email.yml"
    out = tmp_path / "results.json"
    play.write_text(PLAY.format(cases=json.dumps(list(cases)), repo=repo_root, out=out))
    args = ["ansible-playbook", str(play)]
    if strict is not None:
        args += ["-e", json.dumps({"cert_manager_acme_email_strict": strict})]
    proc = subprocess.run(
        args,
        cwd=repo_root,
        env=dict(tool_env, ANSIBLE_NOCOLOR="1"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_refuses_what_lets_encrypt_refuses_and_nothing_else(repo_root, tool_env, tmp_path):
    results = run(repo_root, tool_env, tmp_path, CASES)
    for email, expected in CASES.items():
        problem = results[email]
        if expected:
            assert expected in problem, (email, problem)
        else:
            assert problem == "", (email, problem)


def test_rendering_keeps_example_addresses(repo_root, tool_env, tmp_path):
    """Render and emulated runs never reach Let's Encrypt: only the syntax is checked."""
    results = run(
        repo_root,
        tool_env,
        tmp_path,
        ["platform-team@example.com", "ops@mail.test", "not-an-address"],
        strict=False,
    )
    assert results["platform-team@example.com"] == ""
    assert results["ops@mail.test"] == ""
    assert "is not an e-mail address" in results["not-an-address"]
