"""Local stand-ins for remote services: a fake e-Stat HTTP server and moto's AWS server."""
