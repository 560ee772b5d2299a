"""The domain and the delivery engine: records, rules and the work on them."""
