locals {
  log_group_name  = "/ecs/${var.name}"
  container_name  = "estat-mcp"
  container_port  = 8080
  task_subnet_ids = coalesce(var.task_subnet_ids, var.alb_subnet_ids)
  region          = module.common.region
  # Never deployed: see aws_ecs_task_definition.this.
  destroy_only_image_uri = "placeholder.invalid/image-uri-is-required@sha256:${format("%064d", 0)}"

  # The module's own settings win over environment_variables on a name clash. PYTHONPATH: the image
  # installs the package into /var/task (the Lambda task root), which the console script needs.
  environment = merge(var.environment_variables, module.common.environment, { PYTHONPATH = "/var/task" })

  # Fargate's CPU/memory pairs (MiB).
  memory_range = {
    256  = [512, 2048]
    512  = [1024, 4096]
    1024 = [2048, 8192]
    2048 = [4096, 16384]
    4096 = [8192, 30720]
  }
}

################################################################################
# What the Lambda and ECS targets share: ECR repository, data stores, SSM parameters, the roles'
# policy documents and the server's environment (../estat-mcp-common)
################################################################################

module "common" {
  source = "../estat-mcp-common"

  name                  = var.name
  tags                  = var.tags
  log_group_name        = local.log_group_name
  log_retention_in_days = var.log_retention_in_days
  log_kms_key_arn       = var.log_kms_key_arn
  log_level             = var.log_level

  create_ecr_repository = var.create_ecr_repository
  ecr_force_delete      = var.ecr_force_delete

  app_id_ssm_parameter_name     = var.app_id_ssm_parameter_name
  auth_token_ssm_parameter_name = var.auth_token_ssm_parameter_name
  ssm_kms_key_arn               = var.ssm_kms_key_arn

  enable_aws_data_backends  = var.enable_aws_data_backends
  data_bucket_force_destroy = var.data_bucket_force_destroy
  athena_force_destroy      = var.athena_force_destroy

  enable_aws_cli_read_access     = var.enable_aws_cli_read_access
  aws_cli_extra_log_group_arns   = var.aws_cli_extra_log_group_arns
  aws_cli_account_wide_log_reads = var.aws_cli_account_wide_log_reads
  extra_policy_documents         = var.extra_policy_documents
}

################################################################################
# Cluster (the log group is in module.common)
################################################################################

# Justification: Container Insights is a variable (container_insights, default off); the free AWS/ECS service metrics drive the autoscaling.
#trivy:ignore:AWS-0034
resource "aws_ecs_cluster" "this" {
  #checkov:skip=CKV_AWS_65:Container Insights is a variable (container_insights, default off): the service's AWS/ECS CPU and memory metrics, which drive the autoscaling, are free; Container Insights bills per-task metrics.
  name = var.name

  setting {
    name  = "containerInsights"
    value = var.container_insights ? "enabled" : "disabled"
  }

  tags = var.tags
}

################################################################################
# Task definition: the image's HTTP mode (the Dockerfile's comment shows the same command)
################################################################################

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.architecture == "arm64" ? "ARM64" : "X86_64"
  }

  # The only writable place: the root filesystem is read-only (HOME=/tmp in the image).
  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([
    {
      name       = local.container_name
      image      = coalesce(var.image_uri, local.destroy_only_image_uri)
      essential  = true
      entryPoint = ["/var/task/bin/estat-aws-mcp"]
      command    = ["serve", "--http", "--host", "0.0.0.0", "--port", tostring(local.container_port)]
      # The image's unprivileged user (nobody), stated again so that no override can run it as root.
      user                   = "65534:65534"
      readonlyRootFilesystem = true
      portMappings           = [{ containerPort = local.container_port, hostPort = local.container_port, protocol = "tcp" }]
      environment            = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]
      mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
      healthCheck = {
        # python3 is the image's interpreter (no curl in the Lambda base image).
        command     = ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${local.container_port}/health', timeout=4)"]
        interval    = 30
        timeout     = 5
        retries     = 3
        startPeriod = 30
      }
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = module.common.log_group_name
          awslogs-region        = local.region
          awslogs-stream-prefix = "mcp"
        }
      }
    }
  ])

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.image_uri != null
      error_message = "image_uri is required (pinned by digest). Only the ECR repository can be applied without it (stage 1 of make deploy)."
    }
    precondition {
      condition     = var.memory >= local.memory_range[var.cpu][0] && var.memory <= local.memory_range[var.cpu][1]
      error_message = "memory does not fit cpu on Fargate: ${var.cpu} CPU units take ${local.memory_range[var.cpu][0]}-${local.memory_range[var.cpu][1]} MiB."
    }
  }
}

################################################################################
# Service and CPU-based autoscaling
################################################################################

resource "aws_ecs_service" "this" {
  name                              = var.name
  cluster                           = aws_ecs_cluster.this.arn
  task_definition                   = aws_ecs_task_definition.this.arn
  desired_count                     = var.min_capacity
  launch_type                       = "FARGATE"
  health_check_grace_period_seconds = var.health_check_grace_period_seconds

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = local.task_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = var.assign_public_ip
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = local.container_name
    container_port   = local.container_port
  }

  tags = var.tags

  # The target group must be attached to a listener before a service can register into it.
  depends_on = [aws_lb_listener.https, aws_iam_role_policy.execution]

  lifecycle {
    # The autoscaling owns the task count after creation.
    ignore_changes = [desired_count]
  }
}

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_capacity
  max_capacity       = var.max_capacity

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.max_capacity >= var.min_capacity
      error_message = "max_capacity must be at least min_capacity."
    }
  }
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
