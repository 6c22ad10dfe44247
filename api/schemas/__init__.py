"""Request (``...In``) and response (``...Out``) models of the ``/v1`` API."""
