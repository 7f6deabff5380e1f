################################################################################
# Security groups: clients -> load balancer (443, 80) -> tasks (8080) -> HTTPS out
################################################################################

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "Load balancer of ${var.name}: HTTPS (and HTTP, redirected) in, the tasks' port out"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-alb" })
}

resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "Tasks of ${var.name}: only the load balancer in, HTTPS out"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-tasks" })
}

# Justification: an internet-facing MCP endpoint takes clients from anywhere by default (narrow it with allowed_cidr_blocks); port 80 only redirects to 443 and the server checks the bearer token.
#trivy:ignore:AWS-0107
resource "aws_vpc_security_group_ingress_rule" "alb" {
  for_each = { for pair in setproduct([443, 80], var.allowed_cidr_blocks) : "${pair[0]} ${pair[1]}" => pair }

  security_group_id = aws_security_group.alb.id
  description       = each.value[0] == 443 ? "HTTPS from clients" : "HTTP from clients (redirected to HTTPS)"
  ip_protocol       = "tcp"
  from_port         = each.value[0]
  to_port           = each.value[0]
  cidr_ipv4         = each.value[1]

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "alb_to_tasks" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the tasks' HTTP port"
  ip_protocol                  = "tcp"
  from_port                    = local.container_port
  to_port                      = local.container_port
  referenced_security_group_id = aws_security_group.tasks.id

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_alb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "From the load balancer only"
  ip_protocol                  = "tcp"
  from_port                    = local.container_port
  to_port                      = local.container_port
  referenced_security_group_id = aws_security_group.alb.id

  tags = var.tags
}

# Justification: the tasks call the public e-Stat API and AWS endpoints (ECR, SSM, S3, Athena, CloudWatch) whose addresses are not fixed; HTTPS only.
#trivy:ignore:AWS-0104
resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to e-Stat and AWS endpoints"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"

  tags = var.tags
}

################################################################################
# Application Load Balancer: HTTPS to the tasks, HTTP redirected to HTTPS
################################################################################

# Justification: internet-facing by design (internal = false is the default for clients outside the VPC); set internal = true for a private endpoint.
#trivy:ignore:AWS-0053
resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_91:Access logs are optional (access_logs_bucket): they need a bucket with an ELB delivery policy; the server logs every request itself.
  #checkov:skip=CKV_AWS_150:Deletion protection is a variable (deletion_protection, default off) so that terraform destroy works without an extra step.
  #checkov:skip=CKV2_AWS_28:A WAF is optional in front of an authenticated MCP endpoint; attach one with aws_wafv2_web_acl_association if needed.
  name                       = var.name
  internal                   = var.internal
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.alb_subnet_ids
  idle_timeout               = var.idle_timeout
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection

  dynamic "access_logs" {
    for_each = var.access_logs_bucket == null ? [] : [var.access_logs_bucket]
    content {
      bucket  = access_logs.value
      prefix  = var.name
      enabled = true
    }
  }

  tags = var.tags
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; the hop to the task stays inside the VPC, between two security groups that admit only each other.
  name                 = "${var.name}-mcp"
  port                 = local.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay

  health_check {
    path                = "/health"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  tags = var.tags
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:This listener only answers 301 to HTTPS; no request is forwarded over plain HTTP.
  #checkov:skip=CKV_AWS_103:No TLS on a listener whose only action is the redirect to the HTTPS listener.
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }

  tags = var.tags
}
