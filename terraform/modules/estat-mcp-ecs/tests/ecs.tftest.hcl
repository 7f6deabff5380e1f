# Plan-time tests with a mocked provider: `terraform test` in the module folder.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "ap-northeast-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_ecr_repository" {
    override_during = plan
    defaults        = { arn = "arn:aws:ecr:ap-northeast-1:123456789012:repository/estat-aws-mcp" }
  }
  mock_resource "aws_security_group" {
    override_during = plan
    defaults        = { id = "sg-0123456789abcdef0" }
  }
  mock_resource "aws_lb" {
    override_during = plan
    defaults = {
      dns_name = "estat-aws-mcp-1.ap-northeast-1.elb.amazonaws.com"
      arn      = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/app/estat-aws-mcp/0123456789abcdef"
    }
  }
}

variables {
  image_uri       = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/estat-aws-mcp@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  vpc_id          = "vpc-0123456789abcdef0"
  alb_subnet_ids  = ["subnet-aaaa", "subnet-bbbb"]
  certificate_arn = "arn:aws:acm:ap-northeast-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
}

run "task_runs_the_http_mode_non_root_on_a_read_only_root" {
  command = plan

  assert {
    condition     = one(jsondecode(aws_ecs_task_definition.this.container_definitions)).entryPoint == ["/var/task/bin/estat-aws-mcp"] && one(jsondecode(aws_ecs_task_definition.this.container_definitions)).command == ["serve", "--http", "--host", "0.0.0.0", "--port", "8080"]
    error_message = "the container runs serve --http on 0.0.0.0:8080 through the image's console script"
  }
  assert {
    condition     = one(jsondecode(aws_ecs_task_definition.this.container_definitions)).user == "65534:65534" && one(jsondecode(aws_ecs_task_definition.this.container_definitions)).readonlyRootFilesystem
    error_message = "non-root, read-only root filesystem"
  }
  assert {
    condition     = one(jsondecode(aws_ecs_task_definition.this.container_definitions)).mountPoints == [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }] && one(aws_ecs_task_definition.this.volume).name == "tmp"
    error_message = "a writable /tmp volume"
  }
  assert {
    condition     = strcontains(join(" ", one(jsondecode(aws_ecs_task_definition.this.container_definitions)).healthCheck.command), "http://127.0.0.1:8080/health")
    error_message = "the container health check probes /health"
  }
  assert {
    condition     = one(jsondecode(aws_ecs_task_definition.this.container_definitions)).image == var.image_uri
    error_message = "the image by digest"
  }
  assert {
    condition = {
      for e in one(jsondecode(aws_ecs_task_definition.this.container_definitions)).environment : e.name => e.value
    } == merge(module.common.environment, { PYTHONPATH = "/var/task" }) && module.common.environment["ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER"] == "/estat-aws-mcp/auth-token"
    error_message = "the shared settings, the bearer token from SSM, PYTHONPATH for the console script"
  }
  assert {
    condition     = one(aws_ecs_task_definition.this.runtime_platform).cpu_architecture == "ARM64" && aws_ecs_task_definition.this.requires_compatibilities == toset(["FARGATE"]) && aws_ecs_task_definition.this.network_mode == "awsvpc"
    error_message = "Fargate, awsvpc, arm64 by default"
  }
  assert {
    condition     = one(jsondecode(aws_ecs_task_definition.this.container_definitions)).logConfiguration.options["awslogs-group"] == "/ecs/estat-aws-mcp" && output.log_group_name == "/ecs/estat-aws-mcp"
    error_message = "the service's own log group with its retention"
  }
}

run "load_balancer_serves_https_and_redirects_http" {
  command = plan

  assert {
    condition     = aws_lb_listener.https.protocol == "HTTPS" && aws_lb_listener.https.port == 443 && aws_lb_listener.https.certificate_arn == var.certificate_arn && one(aws_lb_listener.https.default_action).type == "forward"
    error_message = "HTTPS on 443 with the given certificate, forwarding to the tasks"
  }
  assert {
    condition     = one(aws_lb_listener.http.default_action).type == "redirect" && one(one(aws_lb_listener.http.default_action).redirect).protocol == "HTTPS" && one(one(aws_lb_listener.http.default_action).redirect).status_code == "HTTP_301"
    error_message = "HTTP redirects to HTTPS"
  }
  assert {
    condition     = one(aws_lb_target_group.this.health_check).path == "/health" && aws_lb_target_group.this.port == 8080 && aws_lb_target_group.this.target_type == "ip"
    error_message = "the target group probes /health on the tasks' port"
  }
  assert {
    condition     = aws_lb.this.drop_invalid_header_fields && !aws_lb.this.internal
    error_message = "an internet-facing load balancer that drops invalid headers"
  }
  assert {
    condition     = output.mcp_endpoint == "https://estat-aws-mcp-1.ap-northeast-1.elb.amazonaws.com/mcp"
    error_message = "the MCP endpoint is HTTPS on the load balancer"
  }
}

run "only_the_load_balancer_reaches_the_tasks" {
  command = plan

  assert {
    condition     = aws_vpc_security_group_ingress_rule.tasks_from_alb.referenced_security_group_id == aws_security_group.alb.id && aws_vpc_security_group_ingress_rule.tasks_from_alb.from_port == 8080 && aws_vpc_security_group_ingress_rule.tasks_from_alb.to_port == 8080
    error_message = "the tasks admit the load balancer's security group on 8080"
  }
  assert {
    condition     = aws_vpc_security_group_egress_rule.tasks_https.from_port == 443 && aws_vpc_security_group_egress_rule.tasks_https.to_port == 443
    error_message = "the tasks may only call out over HTTPS"
  }
  assert {
    condition     = keys(aws_vpc_security_group_ingress_rule.alb) == ["443 0.0.0.0/0", "80 0.0.0.0/0"]
    error_message = "clients reach the load balancer on 443 and 80 only"
  }
  assert {
    condition     = one(aws_ecs_service.this.network_configuration).security_groups == toset([aws_security_group.tasks.id]) && !one(aws_ecs_service.this.network_configuration).assign_public_ip
    error_message = "the tasks sit behind their own security group, without a public IP by default"
  }
}

run "service_scales_on_cpu_between_one_and_ten" {
  command = plan

  assert {
    condition     = aws_appautoscaling_target.this.min_capacity == 1 && aws_appautoscaling_target.this.max_capacity == 10 && aws_ecs_service.this.desired_count == 1
    error_message = "min 1, max 10 by default"
  }
  assert {
    condition     = one(one(aws_appautoscaling_policy.cpu.target_tracking_scaling_policy_configuration).predefined_metric_specification).predefined_metric_type == "ECSServiceAverageCPUUtilization"
    error_message = "target tracking on the service's average CPU"
  }
  assert {
    condition     = one(aws_ecs_service.this.load_balancer).container_port == 8080 && one(aws_ecs_service.this.load_balancer).container_name == "estat-mcp"
    error_message = "the service registers the container's port 8080"
  }
}

run "task_role_has_the_same_policies_as_the_lambda_role" {
  command = plan

  variables {
    extra_policy_documents = { "oauth-table" = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
    environment_variables  = { ESTAT_MCP_AUTH_MODE = "oauth", ESTAT_MCP_STORAGE_URI = "/elsewhere" }
  }

  assert {
    condition     = keys(aws_iam_role_policy.task) == ["athena", "aws-cli-read", "data-bucket", "glue", "oauth-table", "ssm-parameters"]
    error_message = "one inline policy per shared document (extra documents included), none of them the log writer"
  }
  assert {
    condition     = alltrue([for name, policy in aws_iam_role_policy.task : policy.policy == module.common.policy_documents[name]])
    error_message = "each inline policy is the shared document of its name"
  }
  assert {
    condition     = data.aws_iam_policy_document.execution.source_policy_documents == tolist([module.common.log_write_policy_json])
    error_message = "the execution role writes the logs through the shared log-writer document"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.execution.statement : s.resources if s.sid == "PullOwnImage"][0] == toset(["arn:aws:ecr:ap-northeast-1:123456789012:repository/estat-aws-mcp"])
    error_message = "the execution role pulls from its own repository only"
  }
  assert {
    condition     = [for v in one(one(data.aws_iam_policy_document.assume_role.statement).condition).values : v] == ["123456789012"]
    error_message = "only ECS tasks of this account assume the roles"
  }
  assert {
    condition = {
      for e in one(jsondecode(aws_ecs_task_definition.this.container_definitions)).environment : e.name => e.value
    }["ESTAT_MCP_AUTH_MODE"] == "oauth"
    error_message = "extra settings reach the container"
  }
  assert {
    condition = {
      for e in one(jsondecode(aws_ecs_task_definition.this.container_definitions)).environment : e.name => e.value
    }["ESTAT_MCP_STORAGE_URI"] == module.common.environment["ESTAT_MCP_STORAGE_URI"]
    error_message = "the module's own settings win on a clash"
  }
}

run "an_image_of_another_repository_is_pulled_from_there" {
  command = plan

  variables {
    create_ecr_repository = false
    image_uri             = "210987654321.dkr.ecr.us-east-1.amazonaws.com/team/estat@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.execution.statement : s.resources if s.sid == "PullOwnImage"][0] == toset(["arn:aws:ecr:us-east-1:210987654321:repository/team/estat"])
    error_message = "the pull permission follows the image's repository"
  }
}

run "private_tasks_and_a_narrow_client_range" {
  command = plan

  variables {
    task_subnet_ids     = ["subnet-private-a", "subnet-private-b"]
    allowed_cidr_blocks = ["203.0.113.0/24"]
    internal            = true
  }

  assert {
    condition     = one(aws_ecs_service.this.network_configuration).subnets == toset(["subnet-private-a", "subnet-private-b"]) && aws_lb.this.subnets == toset(["subnet-aaaa", "subnet-bbbb"])
    error_message = "tasks in their own subnets, the load balancer in its own"
  }
  assert {
    condition     = keys(aws_vpc_security_group_ingress_rule.alb) == ["443 203.0.113.0/24", "80 203.0.113.0/24"] && aws_lb.this.internal
    error_message = "only the allowed range reaches an internal load balancer"
  }
}

run "requires_an_image_for_the_task_definition" {
  command = plan
  variables {
    image_uri = null
  }
  expect_failures = [aws_ecs_task_definition.this]
}

run "rejects_memory_that_does_not_fit_the_cpu" {
  command = plan
  variables {
    cpu    = 256
    memory = 4096
  }
  expect_failures = [aws_ecs_task_definition.this]
}

run "rejects_a_long_name_one_subnet_and_a_non_acm_certificate" {
  command = plan
  variables {
    name            = "estat-aws-mcp-on-fargate-prod"
    alb_subnet_ids  = ["subnet-aaaa"]
    certificate_arn = "arn:aws:iam::123456789012:server-certificate/x"
  }
  expect_failures = [var.name, var.alb_subnet_ids, var.certificate_arn]
}

run "rejects_a_scaling_range_upside_down" {
  command = plan
  variables {
    min_capacity = 3
    max_capacity = 2
  }
  expect_failures = [aws_appautoscaling_target.this]
}
