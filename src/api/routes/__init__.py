"""One controller module per resource."""
