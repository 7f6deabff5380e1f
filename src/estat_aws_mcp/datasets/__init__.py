"""Datasets: durable handles for fetched tables in a store (local folder or S3) and their formats."""
