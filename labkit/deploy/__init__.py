"""Converting and running: export, quantization, the runtimes' runners, ExecuTorch files, on-device training."""
