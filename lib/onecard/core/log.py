"""The package logger. Library code logs; only the CLI and batch runner print."""

import logging

logger = logging.getLogger("onecard")
logger.addHandler(logging.NullHandler())
