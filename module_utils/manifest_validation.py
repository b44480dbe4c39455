# Copyright: contributors to this platform
# SPDX-License-Identifier: Apache-2.0
"""Offline validation of Kubernetes objects against upstream schemas.

Built-in kinds are checked strictly with kubernetes-validate's bundled OpenAPI schemas for the
Kubernetes version the inventory targets. Custom resources are checked against JSON schemas from a
schema location in the ``{group}/{kind}_{version}.json`` layout of the public CRDs catalog: either
a folder or an http(s) URL template (like kubeconform's ``-schema-location``). Unknown fields are
errors; a kind with no schema is an error, not a warning.

This file is shared by the ``k8s_manifest_validate`` Ansible module (as
``ansible.module_utils.manifest_validation``) and the ``bin/validate-manifests`` CLI, so it must
not import Ansible.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass

try:
    import jsonschema
    import kubernetes_validate
    import referencing
    import yaml
    from kubernetes_validate import utils as kv_utils

    HAS_DEPS = True
    DEPS_IMPORT_ERROR = None
except ImportError as exc:  # reported by callers with a clear message
    HAS_DEPS = False
    DEPS_IMPORT_ERROR = exc

DEFAULT_SCHEMA_LOCATION = (
    "https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/{group}/{kind}_{version}.json"
)
SCHEMA_LOCATION_ENV = "PLATFORM_CRD_SCHEMA_LOCATION"

# API groups served by Kubernetes itself; objects in these groups are never looked up as CRDs.
BUILTIN_GROUPS = frozenset(
    {
        "",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "extensions",
        "flowcontrol.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "storagemigration.k8s.io",
    }
)
TOP_LEVEL_FIELDS = frozenset({"apiVersion", "kind", "metadata"})
VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")
DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class ManifestValidationError(Exception):
    """Raised when validation cannot be carried out at all (bad input, bad schema location)."""


class SchemaLocationError(ManifestValidationError):
    """The schema location is neither a folder nor an http(s) URL template, or cannot be read."""


@dataclass(frozen=True)
class Problem:
    """One reason an object is invalid, located precisely enough to fix it."""

    source: str
    document: int
    obj: str
    field: str
    message: str

    def __str__(self):
        where = f"{self.source} (document {self.document}) {self.obj}"
        field = f" field {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


def _object_ref(obj):
    if not isinstance(obj, dict):
        return "<not an object>"
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name = metadata.get("name", "<no name>")
    namespace = metadata.get("namespace")
    ref = f"{obj.get('kind', '<no kind>')}/{name}"
    return f"{ref} in {namespace}" if namespace else ref


def _field_path(path):
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def split_api_version(api_version):
    """Return (group, version) for an apiVersion string: "apps/v1" -> ("apps", "v1")."""
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


def normalise_kubernetes_version(version):
    """Return "1.33" for "1.33", "v1.33" or "1.33.2"; raise ManifestValidationError otherwise."""
    match = VERSION_RE.match(str(version).strip())
    if not match:
        raise ManifestValidationError(
            f"Kubernetes version {version!r} is not of the form 1.NN (for example 1.33)"
        )
    return f"{match.group(1)}.{match.group(2)}"


class SchemaStore:
    """Finds the JSON schema of a custom resource in a folder or behind a URL template."""

    def __init__(self, location):
        if not location:
            raise SchemaLocationError("no CRD schema location given")
        self.location = str(location)
        self._cache = {}
        if re.match(r"^https?://", self.location):
            if "{" not in self.location:
                self.template = self.location.rstrip("/") + "/{group}/{kind}_{version}.json"
            else:
                self.template = self.location
            unknown = set(re.findall(r"{([^}]*)}", self.template)) - {"group", "kind", "version"}
            if unknown:
                raise SchemaLocationError(
                    f"CRD schema location {self.location!r} has unknown placeholders "
                    f"{sorted(unknown)}; allowed: {{group}}, {{kind}}, {{version}}"
                )
            self.folder = None
        elif re.match(r"^[a-z][a-z0-9+.-]*://", self.location):
            raise SchemaLocationError(
                f"CRD schema location {self.location!r} uses an unsupported scheme; "
                "give a folder or an http(s) URL template"
            )
        else:
            if not os.path.isdir(self.location):
                raise SchemaLocationError(
                    f"CRD schema location {self.location!r} is not an existing folder; give a "
                    "folder in the {group}/{kind}_{version}.json layout or an http(s) URL template"
                    f" (set {SCHEMA_LOCATION_ENV})"
                )
            self.folder = self.location
            self.template = None

    def describe(self, group, kind, version):
        rel = f"{group}/{kind.lower()}_{version}.json"
        if self.folder:
            return os.path.join(self.folder, rel)
        return self.template.format(group=group, kind=kind.lower(), version=version)

    def get(self, group, kind, version):
        """Return the schema dict, or None when the location has none for this kind."""
        key = (group, kind.lower(), version)
        if key in self._cache:
            return self._cache[key]
        where = self.describe(group, kind, version)
        schema = None
        try:
            if self.folder:
                if os.path.isfile(where):
                    with open(where, encoding="utf-8") as handle:
                        schema = json.load(handle)
            else:
                try:
                    with urllib.request.urlopen(where, timeout=20) as response:  # noqa: S310
                        schema = json.loads(response.read().decode("utf-8"))
                except urllib.error.HTTPError as exc:
                    if exc.code != 404:
                        raise SchemaLocationError(f"cannot fetch {where}: HTTP {exc.code}") from exc
                except (urllib.error.URLError, OSError) as exc:
                    raise SchemaLocationError(
                        f"cannot reach the CRD schema location {where}: {exc}; set "
                        f"{SCHEMA_LOCATION_ENV} to a local folder when offline"
                    ) from exc
        except ValueError as exc:
            raise SchemaLocationError(f"schema {where} is not valid JSON: {exc}") from exc
        self._cache[key] = schema
        return schema


class ManifestValidator:
    """Validates Kubernetes objects; every method returns a list of Problems (empty = valid)."""

    def __init__(self, kubernetes_version, schema_location=None):
        if not HAS_DEPS:
            raise ManifestValidationError(
                f"missing Python dependency ({DEPS_IMPORT_ERROR}); install the project's "
                "requirements (make deps)"
            )
        self.kubernetes_version = normalise_kubernetes_version(kubernetes_version)
        supported = kv_utils.all_versions()
        if not any(
            kv_utils.major_minor(v) == self.kubernetes_version for v in supported
        ):  # kubernetes-validate would silently fall back to an older schema set
            raise ManifestValidationError(
                f"Kubernetes version {self.kubernetes_version} is not supported by "
                f"kubernetes-validate {kubernetes_validate.version.__version__}; supported: "
                f"{', '.join(kv_utils.major_minor(v) for v in supported)}"
            )
        self.schemas = SchemaStore(
            schema_location or os.environ.get(SCHEMA_LOCATION_ENV) or DEFAULT_SCHEMA_LOCATION
        )

    # Built-in kinds --------------------------------------------------------------------------
    def _builtin_schema(self, obj):
        version = self.kubernetes_version
        api_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", obj["apiVersion"])
        folder = f"kubernetes-json-schema/v{version}.0-local-strict"
        try:
            schema = kv_utils.schema_contents(
                f"{folder}/{obj['kind'].lower()}-{api_version}.json", version
            )
        except FileNotFoundError:
            return None, None
        definitions = kv_utils.schema_contents(f"{folder}/_definitions.json", version)
        # Both files carry an $id, so registering them resolves the "/api/_definitions.json" refs.
        registry = referencing.Resource.from_contents(schema) @ referencing.Registry()
        registry = referencing.Resource.from_contents(definitions) @ registry
        return schema, registry

    # One object ------------------------------------------------------------------------------
    def validate_object(self, obj, source="<inline>", document=1):
        ref = _object_ref(obj)

        def problem(field, message):
            return Problem(source, document, ref, field, message)

        if not isinstance(obj, dict):
            return [problem("", f"a Kubernetes object must be a mapping, got {type(obj).__name__}")]
        missing = [f for f in ("apiVersion", "kind", "metadata") if f not in obj]
        if missing:
            return [problem(f, "required field is missing") for f in missing]
        if not isinstance(obj["apiVersion"], str) or not isinstance(obj["kind"], str):
            return [problem("apiVersion", "apiVersion and kind must be strings")]
        group, version = split_api_version(obj["apiVersion"])
        # Built-in schemas type metadata strictly; CRD schemas only say "object".
        problems = self._check_metadata(obj, problem, labels=group not in BUILTIN_GROUPS)

        if group in BUILTIN_GROUPS:
            schema, registry = self._builtin_schema(obj)
            if schema is None:
                missing = (
                    f"no schema for {obj['kind']} in {obj['apiVersion']} for Kubernetes "
                    f"{self.kubernetes_version} (unknown kind or API version)"
                )
                return [*problems, problem("kind", missing)]
            validator = jsonschema.Draft202012Validator(schema, registry=registry)
        else:
            schema = self.schemas.get(group, obj["kind"], version)
            if schema is None:
                missing = (
                    f"no schema for custom resource {obj['kind']} ({obj['apiVersion']}) at "
                    f"{self.schemas.describe(group, obj['kind'], version)}"
                )
                return [*problems, problem("kind", missing)]
            allowed = TOP_LEVEL_FIELDS | set(schema.get("properties", {}))
            for field in sorted(set(obj) - allowed):
                problems.append(problem(field, "unknown field (not in the CRD schema)"))
            validator = jsonschema.Draft7Validator(schema)

        for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
            problems.extend(self._describe_error(error, problem))
        return problems

    @staticmethod
    def _check_metadata(obj, problem, labels):
        metadata = obj["metadata"]
        if not isinstance(metadata, dict):
            return [problem("metadata", "must be a mapping")]
        out = []
        name = metadata.get("name")
        if not name and not metadata.get("generateName"):
            out.append(problem("metadata.name", "required field is missing"))
        elif name and obj["apiVersion"].startswith("rbac.authorization.k8s.io/"):
            # RBAC names are path segment names ("system:metrics-server" is valid): kubernetes
            # pkg/apis/rbac/validation/validation.go ValidateRBACName = path.IsValidPathSegmentName
            if not isinstance(name, str) or name in (".", "..") or "/" in name or "%" in name:
                out.append(problem("metadata.name", f"{name!r} is not a valid path segment name"))
        elif name and (not isinstance(name, str) or not DNS_SUBDOMAIN_RE.match(name)):
            out.append(problem("metadata.name", f"{name!r} is not a valid DNS-1123 subdomain name"))
        for field in ("labels", "annotations") if labels else ():
            values = metadata.get(field) or {}
            if not isinstance(values, dict):
                out.append(problem(f"metadata.{field}", "must be a mapping"))
                continue
            for key, value in values.items():
                if not isinstance(value, str):
                    out.append(
                        problem(
                            f"metadata.{field}.{key}",
                            f"{value!r} is not of type 'string' (quote it)",
                        )
                    )
        return out

    @staticmethod
    def _describe_error(error, problem):
        path = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            pattern_props = error.schema.get("patternProperties", {})
            unexpected = [
                key
                for key in error.instance
                if key not in allowed and not any(re.search(p, key) for p in pattern_props)
            ]
            if unexpected:
                return [
                    problem(_field_path([*path, key]), "unknown field (not in the schema)")
                    for key in unexpected
                ]
        return [problem(_field_path(path), error.message)]

    # Documents, files and folders ------------------------------------------------------------
    def validate_documents(self, documents, source="<inline>"):
        problems = []
        count = 0
        for index, obj in enumerate(documents, start=1):
            if obj is None:  # empty YAML document, e.g. a trailing '---'
                continue
            count += 1
            problems.extend(self.validate_object(obj, source, index))
        return count, problems

    def validate_file(self, path):
        path = str(path)
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            if path.endswith(".json"):
                loaded = json.loads(text)
                documents = (
                    loaded.get("items", [loaded]) if loaded.get("kind") == "List" else [loaded]
                )
            else:
                documents = list(yaml.safe_load_all(text))
        except (OSError, ValueError, yaml.YAMLError) as exc:
            return 0, [Problem(path, 0, "<file>", "", f"cannot be read as YAML/JSON: {exc}")]
        return self.validate_documents(documents, path)

    def validate_paths(self, paths):
        """Validate files and folders (recursively: *.yaml, *.yml, *.json); (count, problems)."""
        total, problems, files = 0, [], []
        for path in paths:
            path = str(path)
            if os.path.isdir(path):
                for root, dirs, names in os.walk(path):
                    dirs.sort()
                    files.extend(
                        os.path.join(root, n)
                        for n in sorted(names)
                        if n.endswith(MANIFEST_SUFFIXES)
                    )
            elif os.path.isfile(path):
                files.append(path)
            else:
                problems.append(Problem(path, 0, "<path>", "", "no such file or folder"))
        if not files and not problems:
            problems.append(
                Problem(", ".join(map(str, paths)), 0, "<path>", "", "no manifest files found")
            )
        for path in files:
            count, found = self.validate_file(path)
            total += count
            problems.extend(found)
        return total, problems
