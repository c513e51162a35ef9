"""The embedded and the real stacks of the data-safety tests, for lifecycle jobs too."""

from tests.integration.controller.test_data_safety import stack

__all__ = ["stack"]
