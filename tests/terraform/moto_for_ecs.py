"""``python -m tests.terraform.moto_for_ecs``: moto's server plus what moto 5.2 leaves out of the
calls the ECS example makes, so that a re-plan after apply shows what AWS would show.

- Application Auto Scaling has no tagging calls in moto (the aws provider reads the tags of every
  ``aws_appautoscaling_target`` and retries moto's 500 answers for minutes): kept per resource ARN
  here, tags given to RegisterScalableTarget included, the way AWS does.
- ECS ``CreateService``/``UpdateService`` drop ``healthCheckGracePeriodSeconds`` and
  ``availabilityZoneRebalancing``: kept on the service and answered by DescribeServices.
- DescribeSecurityGroupRules answers the description of a CIDR rule only; a rule that references
  another security group keeps its description too.

Everything else is moto's own server, unchanged.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from typing import Any

from moto import server
from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.core.responses import ActionResult
from moto.ec2.models.security_groups import SecurityGroupRule
from moto.ecs.responses import EC2ContainerServiceResponse

_TAGS: dict[str, dict[str, str]] = defaultdict(dict)
_register = ApplicationAutoScalingResponse.register_scalable_target


def _register_scalable_target(self: ApplicationAutoScalingResponse) -> str:
    answer = _register(self)
    _TAGS[json.loads(answer)["ScalableTargetARN"]].update(self._get_param("Tags") or {})
    return answer


def _tag_resource(self: ApplicationAutoScalingResponse) -> str:
    _TAGS[self._get_param("ResourceARN")].update(self._get_param("Tags") or {})
    return "{}"


def _untag_resource(self: ApplicationAutoScalingResponse) -> str:
    tags = _TAGS[self._get_param("ResourceARN")]
    for key in self._get_param("TagKeys") or []:
        tags.pop(key, None)
    return "{}"


def _list_tags_for_resource(self: ApplicationAutoScalingResponse) -> str:
    return json.dumps({"Tags": _TAGS.get(self._get_param("ResourceARN"), {})})


_SERVICE_FIELDS = {
    "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
    "availabilityZoneRebalancing": "availability_zone_rebalancing",
}


def _keeping_service_fields(call: Any) -> Any:
    def wrapper(self: EC2ContainerServiceResponse) -> ActionResult:
        result = call(self)
        service = result.result["service"]  # type: ignore[index]
        for field, attribute in _SERVICE_FIELDS.items():
            value = self._get_param(field)
            if value is not None:
                setattr(service, attribute, value)
        return result

    return wrapper


def _rule_description(self: SecurityGroupRule) -> str | None:
    return self.ip_range.get("Description") or self.source_group.get("Description")


ApplicationAutoScalingResponse.register_scalable_target = _register_scalable_target
ApplicationAutoScalingResponse.tag_resource = _tag_resource
ApplicationAutoScalingResponse.untag_resource = _untag_resource
ApplicationAutoScalingResponse.list_tags_for_resource = _list_tags_for_resource
EC2ContainerServiceResponse.create_service = _keeping_service_fields(EC2ContainerServiceResponse.create_service)
EC2ContainerServiceResponse.update_service = _keeping_service_fields(EC2ContainerServiceResponse.update_service)
SecurityGroupRule.description = property(_rule_description)  # type: ignore[assignment]

if __name__ == "__main__":
    server.main(sys.argv[1:])
