"""scrm: an open-source, self-hosted Social CRM for brand monitoring."""

__version__ = "0.1.0"
