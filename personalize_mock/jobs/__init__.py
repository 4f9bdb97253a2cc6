"""Long work off the request path: imports, training, batch jobs, and their S3 input/output."""
