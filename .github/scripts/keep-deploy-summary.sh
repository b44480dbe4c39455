#!/usr/bin/env bash
# Usage: keep-deploy-summary.sh <summary dir> <label>
# Copies <dir>/deploy-summary.{md,json} (written by playbooks/deploy.yml) to
# <dir>/deploy-summary-<label>.{md,json}, so a later deploy does not overwrite them, and prints
# the rollout's outcome ("promoted", "aborted"), or "missing" when no summary was written.
set -euo pipefail

dir="${1:?summary directory}"
label="${2:?label}"

for ext in md json; do
  if [[ -f "$dir/deploy-summary.$ext" ]]; then
    cp "$dir/deploy-summary.$ext" "$dir/deploy-summary-$label.$ext"
  fi
done

if [[ -f "$dir/deploy-summary-$label.json" ]]; then
  jq -r '.outcome // "missing"' "$dir/deploy-summary-$label.json"
else
  echo missing
fi
