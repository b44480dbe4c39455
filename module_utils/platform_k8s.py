# Copyright: contributors to this platform
# SPDX-License-Identifier: Apache-2.0
"""Shared cluster access for the platform's own modules.

One argument spec (``K8S_CONNECTION_ARGS``) so every module takes the same connection options as
kubernetes.core, and one helper (``K8sClient``) that raises ``PlatformModuleError``; only a
module's ``main()`` turns that into ``fail_json``.
"""

from __future__ import annotations

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.rest import ApiException

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError as exc:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = exc
    ApiException = Exception  # keeps except clauses valid without the library

K8S_CONNECTION_ARGS = dict(
    kubeconfig=dict(type="path", aliases=["kubeconfig_path"]),
    context=dict(type="str"),
    host=dict(type="str"),
    api_key=dict(type="str", no_log=True),
    validate_certs=dict(type="bool", default=True, aliases=["verify_ssl"]),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"]),
)


class PlatformModuleError(Exception):
    """A failure a module reports as 'Failed to <verb> <thing>: <reason>'."""


class NotFoundError(PlatformModuleError):
    """The requested object does not exist."""


class ApiUnreachableError(PlatformModuleError):
    """The API server (or, through its proxy, the service behind it) did not answer."""


def connection_params(params):
    """Return only the connection options from a module's params."""
    return {key: params.get(key) for key in K8S_CONNECTION_ARGS}


class K8sClient:
    """Thin wrapper over the Kubernetes API for custom and core objects."""

    def __init__(self, params=None, api_client=None):
        if api_client is not None:
            self.api_client = api_client
        else:
            if not HAS_KUBERNETES:
                raise PlatformModuleError(
                    f"the kubernetes Python library is required ({KUBERNETES_IMPORT_ERROR})"
                )
            self.api_client = self._build(params or {})
        self.custom = k8s_client.CustomObjectsApi(self.api_client)
        self.core = k8s_client.CoreV1Api(self.api_client)

    @staticmethod
    def _build(params):
        configuration = k8s_client.Configuration()
        try:
            if params.get("host"):
                configuration.host = params["host"]
                if params.get("api_key"):
                    configuration.api_key = {"authorization": f"Bearer {params['api_key']}"}
            else:
                k8s_config.load_kube_config(
                    config_file=params.get("kubeconfig"),
                    context=params.get("context"),
                    client_configuration=configuration,
                )
        except Exception as exc:  # the library raises several unrelated types here
            raise PlatformModuleError(f"cannot load cluster credentials: {exc}") from exc
        configuration.verify_ssl = params.get("validate_certs", True)
        if params.get("ca_cert"):
            configuration.ssl_ca_cert = params["ca_cert"]
        return k8s_client.ApiClient(configuration)

    @staticmethod
    def _error(exc, what):
        status = getattr(exc, "status", None)
        if status == 404:
            return NotFoundError(f"{what} not found")
        reason = getattr(exc, "reason", None) or str(exc)
        return PlatformModuleError(f"{what}: API error {status}: {reason}")

    def get_custom(self, group, version, plural, namespace, name):
        try:
            return self.custom.get_namespaced_custom_object(group, version, namespace, plural, name)
        except ApiException as exc:
            raise self._error(exc, f"{plural}.{group} {namespace}/{name}") from exc

    def get_cluster_custom(self, group, version, plural, name):
        """Read a cluster-scoped custom object (e.g. a ClusterSecretStore)."""
        try:
            return self.custom.get_cluster_custom_object(group, version, plural, name)
        except ApiException as exc:
            raise self._error(exc, f"{plural}.{group} {name}") from exc

    def list_custom(self, group, version, plural, namespace, label_selector=None):
        try:
            result = self.custom.list_namespaced_custom_object(
                group, version, namespace, plural, label_selector=label_selector or ""
            )
        except ApiException as exc:
            raise self._error(exc, f"{plural}.{group} in {namespace}") from exc
        return result.get("items", [])

    def patch_custom(self, group, version, plural, namespace, name, body, subresource=None):
        try:
            if subresource == "status":
                return self.custom.patch_namespaced_custom_object_status(
                    group, version, namespace, plural, name, body
                )
            return self.custom.patch_namespaced_custom_object(
                group, version, namespace, plural, name, body
            )
        except ApiException as exc:
            raise self._error(exc, f"{plural}.{group} {namespace}/{name}") from exc

    def get_secret(self, namespace, name):
        try:
            return self.api_client.sanitize_for_serialization(
                self.core.read_namespaced_secret(name, namespace)
            )
        except ApiException as exc:
            raise self._error(exc, f"Secret {namespace}/{name}") from exc

    def service_proxy_get(self, path, query_params=(), timeout=10):
        """GET a path through the API server (e.g. the service proxy) with the cluster's own
        credentials. Returns (status, body bytes) for any HTTP answer, errors included; raises
        ApiUnreachableError when no HTTP answer came back."""
        try:
            response = self.api_client.call_api(
                path,
                "GET",
                query_params=list(query_params),
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=timeout,
            )
        except ApiException as exc:
            if not exc.status:  # the client reports TLS failures as status 0
                raise ApiUnreachableError(
                    f"the Kubernetes API did not answer: {exc.reason}"
                ) from exc
            return exc.status, exc.body if exc.body is not None else b""
        except Exception as exc:  # urllib3 raises several unrelated types for a dead connection
            raise ApiUnreachableError(f"the Kubernetes API did not answer: {exc}") from exc
        raw = response[0] if isinstance(response, tuple) else response
        return raw.status, raw.data
