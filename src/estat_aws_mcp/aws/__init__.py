"""Shared AWS plumbing: boto3 clients with explicit timeouts and retries."""
