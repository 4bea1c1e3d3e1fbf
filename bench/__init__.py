"""`make bench`: anchors first (pgbench, JetStream publish), then every figure as a ratio to them."""
