"""Policy: the rule model and matching that turn frames and findings into decisions."""
