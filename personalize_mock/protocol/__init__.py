"""One protocol layer for the three services, driven by the pinned botocore models.

parse (json: X-Amz-Target; rest-json: method + URI) -> check (max, pattern, enum and what
botocore's own validator covers) -> call backend.<snake_case(operation)>(**params) -> serialise the
result against the output shape, or write an AWS-shaped error."""
