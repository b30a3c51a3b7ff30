"""The core every stage shares: settings, errors, the answer cache, child processes, asset set-up commands."""
