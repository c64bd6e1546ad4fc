"""gridcare: marketing, metering and data acquisition for electricity supply companies."""

__version__ = "0.1.0"
