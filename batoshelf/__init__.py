"""batoshelf: a self-hosted new-chapter tracker."""

__version__ = "0.6.0"
