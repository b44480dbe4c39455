"""Live demo (`make demo-canary`): a good and a bad canary judged by real Prometheus; Slack alerts.

Renders the platform's roles (tests/integration/render.yml), starts the suite's local stack
(tests/support/) on 127.0.0.1 (model-api stable, a good canary, a bad canary, Prometheus with the
service's rules, Alertmanager with the platform's configuration), then:

1. sends load to the stable version and the good canary and prints the AnalysisTemplates'
   verdicts for the good canary as they come;
2. switches on errors and latency in the bad canary and prints, live, its analysis verdicts,
   the alert going to firing, the Slack messages, and the resolved message after the fault is
   cleared.

Slack: with SLACK_WEBHOOK_URL set, Alertmanager posts to that webhook (the mounted-secret files
hold it); otherwise a local Slack-compatible receiver records and prints the messages.
Run time is bounded (about 1-2 minutes, most of it the render); Ctrl-C stops everything.

Run from the repository root as a module (the harness is imported as ``tests.support``):
``scripts/with-env python -m scripts.demo_canary``.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from tests.support import analysis, argo_expr, prometheus, render, service, slack
from tests.support import canary as cs

GOOD_PHASE_SECONDS = 12
TIMEOUT_SECONDS = 60


def say(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    slack_url = os.environ.get("SLACK_WEBHOOK_URL", "").strip()
    work = Path(tempfile.mkdtemp(prefix="demo-canary-"))
    stack = cs.CanaryStack(work / "stack")
    stack.workdir.mkdir(parents=True)
    try:
        roles = render.roles_with_kinds()
        say(f"rendering roles {roles} with ansible (render mode, ~30-60 s) ...")
        secrets = work / "secrets"
        render.render_roles(
            roles, work / "shipped", work / "render", secrets, log_file=work / "r.log"
        )
        rendered = render.extract(work / "render", work / "rules", prometheus.SUITE_SHORTENING)
        if not rendered.analysis_templates:
            say("no AnalysisTemplate was rendered (roles/model_api missing?): nothing to judge")
            return 1
        alerts = cs.error_rate_alerts(rendered)
        # Only the service's rules: the platform rules about the Argo Rollouts controller would
        # (rightly) page about a controller that does not exist here.
        rule_files = [
            path for path in rendered.rule_files.values() if "model_api" in path.read_text()
        ]

        if slack_url:
            urls = {"critical": slack_url, "warning": slack_url}
            say("Slack: messages go to SLACK_WEBHOOK_URL")
        else:
            receiver = stack.start_receiver()
            urls = {"critical": receiver.url("critical"), "warning": receiver.url("warning")}
            say(f"Slack: local receiver on {receiver.url('')} (set SLACK_WEBHOOK_URL for real)")
        slack.write_slack_secrets(secrets, urls)

        stable = stack.start_service("stable", "model-api", "7c9d5f8b46")
        good = stack.start_service("good", "model-api", "5b8f6d7c9a")
        bad = stack.start_service("bad", "model-api", "84f7c6d5b9")
        assert rendered.alertmanager_config
        stack.start_alertmanager(rendered.alertmanager_config)
        stack.start_prometheus(rule_files)
        say(f"Prometheus {stack.prometheus_url}  Alertmanager {stack.alertmanager_url}")
        say(f"rules {[p.name for p in rule_files]} (shortened: {prometheus.SUITE_SHORTENING})")
        say(f"templates {sorted(rendered.analysis_templates)}; error-rate alerts {sorted(alerts)}")

        say(f"== good canary {good.pod_hash}: {GOOD_PHASE_SECONDS} s of traffic")
        load = service.LoadGenerator(
            [stable, good], total=20_000, duration=GOOD_PHASE_SECONDS, concurrency=2
        ).start()
        verdict = argo_expr.RUNNING
        while load.running:
            time.sleep(3)
            verdicts = [
                v
                for name, template in rendered.analysis_templates.items()
                for v in analysis.judge_template(
                    stack, name, template, analysis.analysis_args(good)
                )
            ]
            verdict = analysis.overall(verdicts)
            say(f"good canary: {verdict}  " + "; ".join(v.line() for v in verdicts))
        load.join()
        say(f"good canary verdict: {verdict}")

        say(f"== bad canary {bad.pod_hash}: 50% errors and +600 ms")
        timeline = cs.run_failure_timeline(
            stack,
            rendered.analysis_templates,
            bad,
            [stable],
            alerts,
            timeout=TIMEOUT_SECONDS,
            on_event=say,
        )
        say(
            "bad canary: analysis Failed after "
            f"{timeline.analysis_failed}s, Slack message after {timeline.slack_firing}s, "
            f"resolved {timeline.slack_resolved}s (fault cleared at {timeline.fault_cleared}s)"
        )
        if stack.receiver:
            say(f"Slack messages received: {len(stack.receiver.notifications)}")
            for n in stack.receiver.notifications:
                first = n.text.splitlines()[0] if n.text else ""
                say(f"  #{n.receiver}: {first}")
        return 0
    except KeyboardInterrupt:
        say("interrupted: stopping the stack")
        return 130
    finally:
        stack.stop()
        left = stack.leftovers()
        say("stack stopped" + (f"; STILL ALIVE: {left}" if left else "; no process left"))


if __name__ == "__main__":
    sys.exit(main())
