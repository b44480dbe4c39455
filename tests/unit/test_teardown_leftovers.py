"""Teardown sees the load balancers and security groups the controller left (issue 20, finding 2).

The data comes from the code that would run: a moto ELBv2/EC2 account holding what the AWS Load
Balancer Controller creates (tag keys from kubernetes-sigs/aws-load-balancer-controller
pkg/deploy/tracking/provider.go: ``elbv2.k8s.aws/cluster``, ``ingress.k8s.aws/stack``,
``ingress.k8s.aws/resource``), read through amazon.aws 10.1.2's own
``elb_application_lb_info.list_load_balancers`` and ``ec2_security_group_info`` filter handling,
then judged by the expressions in playbooks/tasks/teardown_platform.yml, rendered by
ansible-core's Templar (Jinja as the playbook evaluates it).
"""

from __future__ import annotations

import boto3
import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_collections.amazon.aws.plugins.module_utils.transformation import (
    sanitize_filters_to_boto3_filter_list,
)
from ansible_collections.amazon.aws.plugins.modules import elb_application_lb_info
from moto import mock_aws

from tests.support import REPO_ROOT

REGION = "eu-west-1"
CLUSTER = "ml-platform-local"
TASKS = yaml.safe_load((REPO_ROOT / "playbooks/tasks/teardown_platform.yml").read_text())
# The expression teardown used until issue 20: selectattr with a dotted attribute name.
OLD_WHEN = (
    "teardown_load_balancers.load_balancers | selectattr('tags', 'defined') | map(attribute='tags')"
    " | selectattr('elbv2.k8s.aws/cluster', 'defined')"
    " | selectattr('elbv2.k8s.aws/cluster', 'eq', platform_infra.cluster.name) | list | length > 0"
)


def task(name):
    return next(t for t in TASKS if t.get("name") == name)


class StubModule:
    """What list_load_balancers needs of AnsibleAWSModule: params and exit_json."""

    def __init__(self, **params):
        self.params = params
        self.result = None

    def exit_json(self, **result):
        self.result = result


def controller_tags(cluster, resource):
    return [
        {"Key": "elbv2.k8s.aws/cluster", "Value": cluster},
        {"Key": "ingress.k8s.aws/stack", "Value": "model-api/model-api"},
        {"Key": "ingress.k8s.aws/resource", "Value": resource},
    ]


@pytest.fixture
def account():
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        elbv2 = boto3.client("elbv2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(
                VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}"
            )["Subnet"]["SubnetId"]
            for i, z in enumerate("ab")
        ]

        def lb(name, tags):
            elbv2.create_load_balancer(Name=name, Subnets=subnets, Tags=tags)

        lb("k8s-modelapi-modelapi-0a1b2c3d4e", controller_tags(CLUSTER, "LoadBalancer"))
        lb("k8s-other-cluster-5f6a7b8c9d", controller_tags("another-cluster", "LoadBalancer"))
        lb("hand-made", [{"Key": "team", "Value": "web"}])
        ec2.create_security_group(
            GroupName="k8s-modelapi-modelapi-0a1b2c3d4e",
            Description="[k8s] Managed SecurityGroup for LoadBalancer",
            VpcId=vpc,
            TagSpecifications=[
                {
                    "ResourceType": "security-group",
                    "Tags": controller_tags(CLUSTER, "ManagedLBSecurityGroup"),
                }
            ],
        )
        yield {"ec2": ec2, "elbv2": elbv2}


def module_result(elbv2):
    """elb_application_lb_info's result, computed by the collection's own function."""
    module = StubModule(
        load_balancer_arns=None,
        names=None,
        include_attributes=False,
        include_listeners=False,
        include_listener_rules=False,
    )
    elb_application_lb_info.list_load_balancers(elbv2, module)
    return module.result


def render(expression, variables):
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))


def teardown_vars(load_balancers, security_groups=()):
    return {
        "teardown_load_balancers": load_balancers,
        "teardown_security_groups": {"security_groups": list(security_groups)},
        "platform_infra": {"cluster": {"name": CLUSTER}},
    }


def test_the_module_returns_tags_as_a_flat_dict_with_dotted_keys(account):
    result = module_result(account["elbv2"])
    ours = next(
        lb for lb in result["load_balancers"] if lb["load_balancer_name"].startswith("k8s-modelapi")
    )
    assert ours["tags"]["elbv2.k8s.aws/cluster"] == CLUSTER


def test_teardown_finds_exactly_this_clusters_load_balancers(account):
    variables = teardown_vars(module_result(account["elbv2"]))
    expression = task("Find the load balancers this cluster's controller left behind")[
        "ansible.builtin.set_fact"
    ]["teardown_leftover_lbs"]
    leftovers = render(expression, variables)
    assert [lb["load_balancer_name"] for lb in leftovers] == ["k8s-modelapi-modelapi-0a1b2c3d4e"]
    variables["teardown_leftover_lbs"] = leftovers
    stop = task("Stop when load balancers or security groups of the cluster remain")
    assert render("{{ " + stop["when"] + " }}", variables) is True


def test_the_old_expression_never_saw_them(account):
    assert render("{{ " + OLD_WHEN + " }}", teardown_vars(module_result(account["elbv2"]))) is False


def test_nothing_left_lets_teardown_continue():
    variables = teardown_vars({"load_balancers": []})
    expression = task("Find the load balancers this cluster's controller left behind")[
        "ansible.builtin.set_fact"
    ]["teardown_leftover_lbs"]
    variables["teardown_leftover_lbs"] = render(expression, variables)
    stop = task("Stop when load balancers or security groups of the cluster remain")
    assert render("{{ " + stop["when"] + " }}", variables) is False


def test_the_security_group_filter_keeps_the_dotted_tag_key(account):
    # ec2_security_group_info turns its filters dict into boto3 filters like this (tag: keys are
    # left alone); EC2 filters by the exact tag key.
    filters = task("Wait until the controller's load balancers and security groups are gone")[
        "amazon.aws.ec2_security_group_info"
    ]["filters"]
    rendered = {k: render(v, teardown_vars({})) for k, v in filters.items()}
    boto_filters = sanitize_filters_to_boto3_filter_list(rendered, ignore_keys=["tag:"])
    assert boto_filters == [{"Name": "tag:elbv2.k8s.aws/cluster", "Values": [CLUSTER]}]
    groups = account["ec2"].describe_security_groups(Filters=boto_filters)["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["k8s-modelapi-modelapi-0a1b2c3d4e"]
