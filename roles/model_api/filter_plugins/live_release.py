# Copyright: contributors to this platform
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""model_api_live_release: which image the service stage applies (tasks/live_release.yml).

A site run re-applies the Rollout. Unless a release is asked for (playbooks/deploy.yml passes
model_api_image_tag), it must apply the image the Rollout already declares, or a re-run starts a
canary back to an older build. The model ships inside the image (Dockerfile), so the image
reference is the whole release.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

# Docker reference grammar (distribution/reference regexp.go): tag [\w][\w.-]{0,127},
# digest algorithm:hex after '@'.
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def split_image(image):
    """(repository, tag, digest) of an image reference; tag or digest may be None."""
    if not isinstance(image, str) or not image:
        raise AnsibleFilterError(f"the live image is {image!r}, not an image reference")
    name, _, digest = image.partition("@")
    repository, tag = name, None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:  # a ':' before the last '/' is a registry port, not a tag
        repository, tag = name.rsplit(":", 1)
    return repository, tag, digest or None


def _container_image(rollout, container):
    spec = rollout.get("spec") or {}
    if spec.get("workloadRef"):
        raise AnsibleFilterError(
            "the live Rollout takes its pod template from workloadRef "
            f"{spec['workloadRef'].get('kind')}/{spec['workloadRef'].get('name')}; this role "
            "renders spec.template itself and cannot tell which image runs"
        )
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    for item in containers:
        if item.get("name") == container:
            return item.get("image")
    names = [item.get("name") for item in containers]
    raise AnsibleFilterError(
        f"the live Rollout has no container {container!r} (containers: {names})"
    )


def live_release(rollouts, container, initial_repository, initial_tag):
    """The release to apply when none was asked for.

    rollouts: the Rollout objects found (kubernetes.core.k8s_info ``resources``, or the rendered
    manifest in render mode): empty on a first install. Returns {repository, tag, source,
    reason}; source is ``live`` (kept from the Rollout) or ``initial`` (first install).
    """
    rollouts = [r for r in (rollouts or []) if r]
    if not rollouts:
        return {
            "repository": initial_repository,
            "tag": initial_tag,
            "source": "initial",
            "reason": f"no Rollout yet: first install at model_api_initial_image_tag {initial_tag}",
        }
    if len(rollouts) > 1:
        raise AnsibleFilterError(f"expected one live Rollout, found {len(rollouts)}")
    image = _container_image(rollouts[0], container)
    repository, tag, digest = split_image(image)
    if digest or not tag or not TAG.match(tag) or tag == "latest":
        raise AnsibleFilterError(
            f"the live Rollout runs {image!r}, which is not <repository>:<tag> with a tag naming "
            "one build; release explicitly with playbooks/deploy.yml -e model_api_image_tag=<tag>"
        )
    return {
        "repository": repository,
        "tag": tag,
        "source": "live",
        "reason": f"kept the image the Rollout runs ({image}); releases go through deploy.yml",
    }


class FilterModule:
    def filters(self):
        return {"model_api_live_release": live_release}
