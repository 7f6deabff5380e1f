"""Staged Terraform deployment (``make deploy`` / ``estat-aws-mcp deploy``).

Stage 1 creates the ECR repository, stage 2 builds and pushes the image with docker buildx and
captures its digest, stage 3 applies everything else with ``image_uri`` pinned by that digest.
Terraform runs through :mod:`estat_aws_mcp.deploy.terraform` (python-terraform, fixed for 1.x).
"""
